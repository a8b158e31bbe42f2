"""Complex tensors in files (xpnn/io/format.py): complex64 as safetensors' own "C64" tag,
complex128 as "F64" (real, imaginary) pairs with a trailing dimension of 2 listed in the
``xpnn.complex128`` metadata entry. Round trips through xpnn.save/load, state dicts, whole
modules, optimizer state and checkpoints on every backend; interop with safetensors.torch.

Every comparison is exact (bit for bit): a file stores the bytes, nothing is computed, and a
resumed run repeats the same floating-point operations as the uninterrupted one.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_torch, to_np

import xpnn
from xpnn.io.format import COMPLEX128_KEY, CheckpointError
from xpnn.io.weights import read_metadata


def _c(rng, shape, dtype):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _on(backend, host):
    name, _, dev = backend.partition(":")
    return xpnn.tensor(host, dtype=str(host.dtype), backend=name, device=dev or None)


def _same(got, want):
    """Exact equality of an xpnn Tensor/array with a NumPy array: dtype, shape, bits."""
    got = to_np(got) if isinstance(got, xpnn.Tensor) else xpnn.to_numpy(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes()


def _dt(t):
    return xpnn.backend.dtype_name(t.dtype)


def _where(t):
    return (t.backend, str(t.device))


# -- round trips -------------------------------------------------------------------------------
def test_nested_object_round_trips_exactly(tmp_path, backend, rng):
    host = {"c64": _c(rng, (3, 4), np.complex64), "c128": _c(rng, (2, 5), np.complex128),
            "scalar": np.array(1e-300 - 2.5e300j, np.complex128),
            "empty": np.zeros((0, 3), np.complex64),
            "special": np.array([complex("nan+1j"), complex("-inf-0j"), 0j], np.complex128)}
    tensors = {k: _on(backend, v) for k, v in host.items()}
    conj = tensors["c128"].conj()  # a lazy conjugate view on torch
    obj = {"t": tensors, "list": [tensors["c64"], conj], "n": 3}
    path = xpnn.save(obj, tmp_path / "c.safetensors")
    back = xpnn.load(path)
    assert back["n"] == 3
    for k, v in host.items():
        _same(back["t"][k], v)
        assert _where(back["t"][k]) == _where(tensors[k])
    _same(back["list"][1], np.conj(host["c128"]))
    assert back["list"][0] is back["t"]["c64"]  # one tensor met twice is stored once
    for k, v in xpnn.load_file(path, backend="numpy").items():
        assert v.dtype in (np.complex64, np.complex128), k
    into = {}
    xpnn.load(into, path)
    _same(into["t.c128"], host["c128"])


def test_a_tensor_saved_alone(tmp_path, backend, rng):
    z = _c(rng, (4,), np.complex128)
    path = xpnn.save(_on(backend, z), tmp_path / "t.safetensors")
    back = xpnn.load(path)
    _same(back, z)
    assert _dt(back) == "complex128"


def test_loading_into_a_target_dict_checks_the_complex_dtype(tmp_path, backend, rng):
    z = _c(rng, (2, 2), np.complex128)
    path = xpnn.save({"w": z}, tmp_path / "w.safetensors")
    target = {"w": _on(backend, np.zeros((2, 2), np.complex128))}
    xpnn.load(target, path)
    _same(target["w"], z)
    wrong = {"w": _on(backend, np.zeros((2, 2), np.complex64))}
    with pytest.raises(CheckpointError, match="dtype complex128 in the file but complex64"):
        xpnn.load(wrong, path)
    real = {"w": _on(backend, np.zeros((2, 2, 2), np.float64))}
    with pytest.raises(CheckpointError, match="shape"):
        xpnn.load(real, path)


# -- interop with safetensors.torch ------------------------------------------------------------
@needs_torch
def test_complex64_files_interoperate_with_safetensors_torch(tmp_path, backend, rng):
    import torch
    st = pytest.importorskip("safetensors.torch")
    z = _c(rng, (3, 2), np.complex64)
    path = xpnn.save({"w": _on(backend, z)}, tmp_path / "ours.safetensors")
    header = json.loads(Path(path).read_bytes()[8:8 + int.from_bytes(
        Path(path).read_bytes()[:8], "little")])
    assert header["w"]["dtype"] == "C64" and header["w"]["shape"] == [3, 2]
    theirs = st.load_file(path)["w"]
    assert theirs.dtype == torch.complex64 and np.array_equal(theirs.numpy(), z)

    other = tmp_path / "theirs.safetensors"
    st.save_file({"a": torch.from_numpy(z), "b": torch.ones(2)}, str(other))
    back = xpnn.load(other)
    _same(back["a"], z)
    name, _, dev = backend.partition(":")
    arrays = xpnn.load_file(other, backend=name, device=dev or None)
    _same(arrays["a"], z)
    assert xpnn.backend.backend_of(arrays["a"]).name == name


@needs_torch
def test_complex128_is_float64_pairs_to_other_readers(tmp_path, backend, rng):
    import torch
    st = pytest.importorskip("safetensors.torch")
    z = _c(rng, (2, 3), np.complex128)
    path = xpnn.save({"w": _on(backend, z), "r": np.float64([1.5])}, tmp_path / "w.st")
    theirs = st.load_file(path)
    assert theirs["w"].dtype == torch.float64 and tuple(theirs["w"].shape) == (2, 3, 2)
    assert np.array_equal(theirs["w"].numpy(), np.stack([z.real, z.imag], -1))
    assert json.loads(read_metadata(path)[COMPLEX128_KEY]) == ["w"]
    back = xpnn.load(path)
    _same(back["w"], z)
    _same(back["r"], np.float64([1.5]))
    # a pair file written by someone else, without xpnn's entry, stays float64
    other = tmp_path / "pairs.st"
    st.save_file({"w": theirs["w"]}, str(other))
    assert _dt(xpnn.load(other)["w"]) == "float64"


# -- malformed files ---------------------------------------------------------------------------
def _rewrite(path, edit):
    """Rewrite a file's JSON header through ``edit(header)`` (the digest then fails unless
    it is dropped, which a plain load allows)."""
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header["__metadata__"].pop("xpnn.sha256")
    header["__metadata__"].pop("xpnn.object", None)
    header["__metadata__"].pop("xpnn.version", None)
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    Path(path).write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n:])


@pytest.mark.parametrize("edit, match", [
    (lambda h: h["__metadata__"].update({COMPLEX128_KEY: "[\"nope\"]"}), "not a tensor"),
    (lambda h: h["__metadata__"].update({COMPLEX128_KEY: "{}"}), "JSON list"),
    (lambda h: h["__metadata__"].update({COMPLEX128_KEY: "[\"r\"]"}), "F64 with a trailing"),
    (lambda h: h["w"].update(dtype="C128", shape=[3]), "unknown dtype 'C128'"),
])
def test_a_bad_complex128_entry_is_refused(tmp_path, edit, match):
    path = xpnn.save({"w": np.complex128([1j, 2, 3]), "r": np.float64([[1, 2, 3]])},
                     tmp_path / "w.st")
    _rewrite(path, edit)
    with pytest.raises(CheckpointError, match=match):
        xpnn.load(path)


def test_a_tampered_complex128_entry_fails_the_checksum(tmp_path):
    path = xpnn.save({"w": np.complex128([1j, 2]), "r": np.float64([[1, 2]])},
                     tmp_path / "w.st")
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    text = raw[8:8 + n].replace(b'[\\"w\\"]', b'[\\"r\\"]')
    assert text != raw[8:8 + n]
    Path(path).write_bytes(raw[:8] + text + raw[8 + n:])
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        xpnn.load(path)


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / "w.safetensors")
    xpnn.save({"a": np.complex128([1j])}, path)
    old = Path(path).read_bytes()

    def boom(*a):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        xpnn.save({"a": np.complex128([2j]), "b": np.complex64([3])}, path)
    monkeypatch.undo()
    assert Path(path).read_bytes() == old
    assert os.listdir(tmp_path) == ["w.safetensors"]


# -- a Fourier-neural-operator-like model with Adam ----------------------------------------------
class Spectral(xpnn.nn.Module):
    """A 1-D spectral layer: rfft, a complex weight per kept mode and channel pair, irfft,
    then a real Linear (complex64 and complex128 parameters beside float32 ones)."""

    def __init__(self, channels=3, modes=4, n=16):
        super().__init__()
        self.modes, self.n = modes, n
        self.w = xpnn.nn.Parameter(0.3 * xpnn.randn(channels, channels, modes,
                                                    dtype=xpnn.complex64))
        self.gate = xpnn.nn.Parameter(1 + 0.1 * xpnn.randn(modes, dtype=xpnn.complex128))
        self.lin = xpnn.nn.Linear(n, n)

    def forward(self, x):
        f = xpnn.fft.rfft(x, dim=-1)[..., :self.modes]
        f = xpnn.einsum("bim,iom->bom", f, self.w) * self.gate.to(xpnn.complex64)
        return self.lin(xpnn.fft.irfft(f, n=self.n, dim=-1))


def _setup(backend):
    name, _, dev = backend.partition(":")
    xpnn.manual_seed(3)
    model = Spectral().to(name, dev or None)
    opt = xpnn.optim.Adam(model.parameters(), lr=1e-2)
    return model, opt


def _step(model, opt, x, y):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()


def _data(backend, rng):
    name, _, dev = backend.partition(":")
    x = xpnn.tensor(rng.standard_normal((5, 3, 16)).astype(np.float32), backend=name,
                    device=dev or None)
    y = xpnn.tensor(rng.standard_normal((5, 3, 16)).astype(np.float32), backend=name,
                    device=dev or None)
    return x, y


def _params(model):
    return {k: to_np(v).copy() for k, v in model.state_dict().items()}


def _assert_same_params(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("how", ["checkpoint", "save_dict"])
def test_resumed_adam_on_complex_parameters_takes_the_same_step(tmp_path, backend, rng, how):
    x, y = _data(backend, rng)
    model, opt = _setup(backend)
    assert _dt(model.w) == "complex64" and _dt(model.gate) == "complex128"
    for _ in range(2):
        _step(model, opt, x, y)
    state = opt.state_dict()["state"]
    assert any(_dt(v) == "complex64" for s in state.values() for v in s.values()
               if isinstance(v, xpnn.Tensor))
    path = tmp_path / "ckpt.safetensors"
    if how == "checkpoint":
        xpnn.save_checkpoint(path, model, opt, epoch=1, step=2)
    else:
        xpnn.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    _step(model, opt, x, y)
    want = _params(model)

    fresh, fresh_opt = _setup(backend)
    if how == "checkpoint":
        info = xpnn.load_checkpoint(path, fresh, fresh_opt)
        assert info["step"] == 2
    else:
        saved = xpnn.load(path)
        fresh.load_state_dict(saved["model"])
        fresh_opt.load_state_dict(saved["optimizer"])
    _step(fresh, fresh_opt, x, y)
    _assert_same_params(_params(fresh), want)
    assert _where(fresh.w) == _where(model.w)


def test_state_dict_and_whole_module_round_trip(tmp_path, backend, rng):
    model, _ = _setup(backend)
    want = _params(model)
    path = xpnn.save(model.state_dict(), tmp_path / "sd.safetensors")
    other, _ = _setup(backend)
    with xpnn.no_grad():
        for p in other.parameters():
            p.zero_()
    xpnn.load(other, path)
    _assert_same_params(_params(other), want)
    other2, _ = _setup("numpy")
    other2.load_state_dict(xpnn.load(path, map_location="cpu"))
    _assert_same_params(_params(other2), want)

    whole = xpnn.save(model, tmp_path / "m.safetensors")
    with xpnn.serialization.safe_globals([Spectral]):
        back = xpnn.load(whole)
    assert isinstance(back, Spectral)
    _assert_same_params(_params(back), want)
    x, _ = _data(backend, rng)
    assert np.array_equal(to_np(back(x)), to_np(model(x)))


@needs_torch
def test_complex_state_dict_loads_into_torch(tmp_path, rng):
    import torch
    st = pytest.importorskip("safetensors.torch")
    model, _ = _setup("numpy")
    path = xpnn.save(model.state_dict(), tmp_path / "sd.safetensors")
    sd = st.load_file(path)
    assert sd["w"].dtype == torch.complex64
    assert np.array_equal(sd["w"].numpy(), to_np(model.w))
    assert sd["gate"].dtype == torch.float64  # complex128: the real pairs
    assert np.array_equal(torch.view_as_complex(sd["gate"]).numpy(), to_np(model.gate))


def test_fit_resumes_from_a_model_checkpoint_with_complex_parameters(tmp_path, rng):
    from xpnn.callbacks import ModelCheckpoint
    X = rng.standard_normal((12, 3, 16)).astype(np.float32)
    Y = rng.standard_normal((12, 3, 16)).astype(np.float32)

    def run(epochs, resume_from=None, callbacks=()):
        model, opt = _setup("numpy")
        xpnn.fit(model, (X, Y), xpnn.nn.functional.mse_loss, opt, epochs=epochs,
                 batch_size=4, metrics=[], progress=False, callbacks=callbacks,
                 resume_from=resume_from)
        return _params(model)

    want = run(2, callbacks=[ModelCheckpoint(str(tmp_path / "ckpt-{epoch}.safetensors"),
                                             save_optimizer=True)])
    first = sorted(os.listdir(tmp_path))[0]
    _assert_same_params(run(2, resume_from=str(tmp_path / first)), want)
