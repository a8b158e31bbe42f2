"""Checks found while writing the round-17 tutorial programs (tests/pytorch_programs/
tutorials/yolo_style_nms.py, speech_commands_stft.py, contrastive_siamese_triplet_mining.py,
flow_matching.py, gradient_checkpoint_transformer.py, graph_attention_v2_edge.py).

* A tensor indexed by a bare NumPy integer array (``train_x[idx]`` with ``idx`` from
  ``np.concatenate`` of ``rng.choice`` draws, as the triplet-mining program builds its P x K
  batches) worked on the NumPy backend only: on any other backend (array-api-strict, torch,
  CuPy) xpnn/functional/index_key.py took the NumPy array for another backend's array and
  raised TypeError ("an index array on numpy:cpu for a tensor on ..."). PyTorch reads a
  NumPy array index as host data, like a list, for a tensor on any device; xpnn now
  converts it to the tensor's backend, for reading and for writing (``x[idx] = v``), while
  an xpnn Tensor's array on another backend is still refused.
* ``torch.stft`` / ``torch.istft`` with a window shorter than n_fft and no ``win_length``
  (``stft(x, 16, window=hann_window(8))``) quietly took win_length from the window's size
  and zero-padded it (xpnn/spectral.py's ``_window``). PyTorch's win_length defaults to
  n_fft whatever the window, so it refuses such a window; xpnn now does too, naming
  win_length and the window's size. With ``win_length=8`` given, both agree value for value.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402

RNG = np.random.default_rng(17)
X = RNG.standard_normal((6, 3)).astype(np.float32)


@pytest.mark.parametrize("kind", ["int64", "int32", "bool"])
def test_numpy_array_index_reads_and_writes_like_torch(backend, kind):
    """x[np_idx], x[np_idx, 1:], x[np_idx] = v and their gradients equal PyTorch's on every
    backend, for int64, int32 and boolean NumPy indices."""
    if kind == "bool":
        idx = np.array([True, False, True, True, False, True])
    else:
        idx = np.array([4, 0, 4, -1, 2], dtype=kind)
    x = xpnn.tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    y, ty = x[idx], tx[idx]
    z, tz = x[idx, 1:], tx[idx, 1:]
    assert tuple(y.shape) == tuple(ty.shape) and tuple(z.shape) == tuple(tz.shape)
    np.testing.assert_array_equal(to_np(y.detach()), ty.detach().numpy())
    np.testing.assert_array_equal(to_np(z.detach()), tz.detach().numpy())
    w = RNG.standard_normal(tuple(ty.shape)).astype(np.float32)
    (y * xpnn.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-6)
    a, ta = xpnn.tensor(X), torch.tensor(X)
    a[idx] = 7.0
    ta[idx] = 7.0
    np.testing.assert_array_equal(to_np(a), ta.numpy())


def test_numpy_array_index_of_pk_batches(backend):
    """The triplet-mining program's batch: rows and labels picked by a NumPy array made by
    np.concatenate of rng.choice draws (int64), on every backend."""
    labels = np.repeat(np.arange(3), 2)
    by_class = [np.flatnonzero(labels == c) for c in range(3)]
    idx = np.concatenate([RNG.choice(by_class[c], 2, replace=False) for c in (2, 0)])
    x, y = xpnn.tensor(X), xpnn.tensor(labels)
    np.testing.assert_array_equal(to_np(x[idx]), X[idx])
    np.testing.assert_array_equal(to_np(y[idx]), labels[idx])


def test_tensor_index_on_another_backend_still_refused():
    """An xpnn Tensor index on another backend still raises, naming both backends."""
    pytest.importorskip("array_api_strict")
    x = xpnn.tensor(X, backend="array_api_strict")
    idx = xpnn.tensor(np.array([0, 2]), backend="numpy")
    with pytest.raises(TypeError, match="getitem: an index array on numpy"):
        x[idx]


def test_stft_window_shorter_than_n_fft_needs_win_length(backend):
    """A window of 8 for n_fft=16 is refused without win_length (as PyTorch), and with
    win_length=8 the spectrogram, its inverse and the gradient equal PyTorch's."""
    x_np = RNG.standard_normal(64).astype(np.float32)
    for fn in (lambda lib, x: lib.stft(x, 16, window=lib.hann_window(8), return_complex=True),
               lambda lib, x: lib.istft(lib.stft(x, 16, window=lib.hann_window(16),
                                                 return_complex=True), 16,
                                        window=lib.hann_window(8))):
        with pytest.raises(RuntimeError):
            fn(torch, torch.tensor(x_np))
        with pytest.raises(ValueError, match="win_length=16, but got window with size"):
            fn(xpnn, xpnn.tensor(x_np))
    got, want = [], []
    for lib, out in ((xpnn, got), (torch, want)):
        x = lib.tensor(x_np, requires_grad=True)
        s = lib.stft(x, 16, hop_length=4, win_length=8, window=lib.hann_window(8),
                     return_complex=True)
        back = lib.istft(s, 16, hop_length=4, win_length=8, window=lib.hann_window(8),
                         length=64)
        (s.abs() ** 2).sum().backward()
        out += [s.abs().detach(), back.detach(), x.grad]
    assert tuple(got[0].shape) == tuple(want[0].shape) == (9, 17)
    for g, w in zip(got, want):
        np.testing.assert_allclose(to_np(g), w.numpy(), rtol=1e-4, atol=1e-4)
