"""Embedding: lookup and scatter-add backward on every backend, native == portable scatter,
padding_idx, float64 gradient check, PyTorch parity and bad input."""
import importlib

import numpy as np
import pytest
from conftest import to_np

import xpnn
import xpnn.functional as F
from xpnn import nn

# the module, not the function of the same name that xpnn.functional re-exports
E = importlib.import_module("xpnn.functional.embedding")

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
# A gradient row is a sum of at most a handful of O(1) float32 values: a few eps each.
SUM_TOL32 = 16 * EPS32
TWIN_TOL = 1e3 * EPS64

IDS = np.array([[1, 4, 1, 0], [4, 4, 2, 6]], dtype=np.int64)  # repeats must add up


def _reference_grad(V, ids, dY, padding_idx=None):
    dW = np.zeros((V, dY.shape[-1]))
    np.add.at(dW, ids.reshape(-1), dY.reshape(-1, dY.shape[-1]))
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def test_forward_backward_every_backend(backend, rng):
    emb = nn.Embedding(7, 3, padding_idx=6)
    W = to_np(emb.weight)
    assert np.all(W[6] == 0), "the padding row starts at zero"
    y = emb(xpnn.tensor(IDS, backend=backend))
    assert y.shape == (2, 4, 3) and xpnn.backend.dtype_name(y.dtype) == "float32"
    np.testing.assert_array_equal(to_np(y), W[IDS])
    dY = rng.standard_normal((2, 4, 3)).astype(np.float32)
    y.backward(xpnn.tensor(dY, backend=backend))
    np.testing.assert_allclose(to_np(emb.weight.grad), _reference_grad(7, IDS, dY, 6),
                               atol=SUM_TOL32, rtol=0)


def test_same_init_on_every_backend(backend):
    """Host-drawn init: one seed gives the same table on every backend."""
    xpnn.manual_seed(3)
    ours = to_np(nn.Embedding(5, 4, backend=backend).weight)
    xpnn.manual_seed(3)
    np.testing.assert_array_equal(ours, to_np(nn.Embedding(5, 4, backend="numpy").weight))


@pytest.mark.parametrize("budget", [1 << 24, 10])  # 10: forces many one-hot chunks
@pytest.mark.parametrize("n", [40, 300])  # NumPy: np.add.at below 64 ids, sorted sums above
def test_native_scatter_equals_portable(backend, rng, monkeypatch, budget, n):
    from xpnn.functional import scatter_kernels as I
    monkeypatch.setattr(I, "_ONEHOT_BUDGET", budget)
    be = xpnn.get_backend(backend)
    V, D = 9, 5
    ids = rng.integers(0, V - 1, n)  # row V - 1 gets nothing
    ids[:6] = 2  # heavy repeats
    dY = rng.standard_normal((n, D))
    zeros = be.asarray(np.zeros((V, D)), dtype="float64")
    args = (be.asarray(ids), be.asarray(dY, dtype="float64"))
    portable = I.index_add_portable(be, zeros, 0, *args)
    native = I.index_add(be, be.asarray(np.zeros((V, D)), dtype="float64"), 0, *args)
    ref = _reference_grad(V, ids, dY)
    start = rng.standard_normal((V, D))  # into a destination that is not zero
    onto = I.index_add(be, be.asarray(start.copy(), dtype="float64"), 0, *args)
    np.testing.assert_allclose(to_np(onto), start + ref, atol=64 * EPS64, rtol=1e-13)
    np.testing.assert_allclose(to_np(portable), ref, atol=64 * EPS64, rtol=0)
    np.testing.assert_allclose(to_np(native), to_np(portable), atol=64 * EPS64, rtol=0)
    assert (backend in I.INDEX_ADD) == (backend != "array_api_strict")


def test_gradcheck_float64(host_backend, rng):
    backend = host_backend
    W = xpnn.tensor(rng.standard_normal((5, 3)), dtype="float64", requires_grad=True)
    ids = xpnn.tensor(np.array([[0, 3, 3], [4, 1, 0]]), backend=backend)
    W = W.to(backend)
    # padding_idx=2 is absent from ids: the pad row's zero gradient is by design, not d(out)/dW
    assert xpnn.gradcheck(lambda w: F.embedding(ids, w, padding_idx=2), W)


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    t = torch.nn.Embedding(8, 4, padding_idx=2, dtype=torch.float64)
    ours = nn.Embedding(8, 4, padding_idx=2, dtype="float64")
    assert list(ours.state_dict()) == list(t.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    ids = rng.integers(0, 8, (3, 5))
    dY = rng.standard_normal((3, 5, 4))
    ty = t(torch.tensor(ids))
    ty.backward(torch.tensor(dY))
    y = ours(ids)
    y.backward(xpnn.tensor(dY, dtype="float64"))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=0, rtol=0)
    np.testing.assert_allclose(ours.weight.grad, t.weight.grad.numpy(), atol=TWIN_TOL, rtol=0)


def test_from_pretrained_freeze(backend):
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    emb = nn.Embedding.from_pretrained(xpnn.tensor(table, backend=backend))
    assert not emb.weight.requires_grad and emb.weight.backend == backend
    np.testing.assert_array_equal(to_np(emb(xpnn.tensor([3, 0], backend=backend))),
                                  table[[3, 0]])


@pytest.mark.parametrize("ids, err, words", [
    ([[0, 7]], IndexError, ["Embedding(7, 3)", "[0, 7)", "(1, 2)"]),
    ([[-1, 2]], IndexError, ["[0, 7)", "-1"]),
    (np.array([0.0, 1.0]), TypeError, ["Embedding", "integers", "float"]),
])
def test_bad_ids(backend, ids, err, words):
    emb = nn.Embedding(7, 3)
    data = xpnn.tensor(np.asarray(ids), backend=backend, dtype=None)
    if err is IndexError and not emb.weight._be.on_host:
        # no host read per call on a device: the rows of out-of-range ids are NaN instead
        out = to_np(emb(data))
        bad = (np.asarray(ids) < 0) | (np.asarray(ids) >= 7)
        assert np.isnan(out[bad]).all() and np.isfinite(out[~bad]).all()
        return
    with pytest.raises(err) as info:
        emb(data)
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(num_embeddings=0, embedding_dim=3), ["num_embeddings", "0"]),
    (dict(num_embeddings=4, embedding_dim=3, padding_idx=4), ["padding_idx", "4"]),
])
def test_bad_construction(kwargs, words):
    with pytest.raises(ValueError) as info:
        nn.Embedding(**kwargs)
    for w in words:
        assert w in str(info.value)


EMBEDDING_OPTIONS = [dict(max_norm=1.0), dict(max_norm=1.5, norm_type=1.0),
                     dict(max_norm=0.5, norm_type=float("inf")),
                     dict(scale_grad_by_freq=True),
                     dict(max_norm=1.0, scale_grad_by_freq=True, padding_idx=2)]


@pytest.mark.parametrize("kw", EMBEDDING_OPTIONS, ids=lambda kw: ",".join(kw))
def test_max_norm_and_scale_grad_by_freq_against_torch(kw, backend):
    """nn.Embedding's max_norm (the rows read are scaled in the table, in place, before
    the lookup), norm_type and scale_grad_by_freq (each row's gradient over its id's count),
    and a starting table given as _weight: outputs, the table afterwards, its gradient and
    the repr equal PyTorch's (float64)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    W = rng.standard_normal((10, 4)) * 2
    ids = np.array([[1, 2, 2, 7], [0, 1, 9, 9]])
    g = np.arange(32.0).reshape(2, 4, 4)
    te = torch.nn.Embedding(10, 4, _weight=torch.tensor(W), **kw)
    ty = te(torch.tensor(ids))
    (ty * torch.tensor(g)).sum().backward()
    xe = nn.Embedding(10, 4, _weight=xpnn.tensor(W, backend=backend, dtype="float64"), **kw)
    xy = xe(xpnn.tensor(ids, backend=backend))
    (xy * xpnn.tensor(g, backend=backend, dtype="float64")).sum().backward()
    for ours, theirs in ((xy, ty), (xe.weight, te.weight), (xe.weight.grad, te.weight.grad)):
        np.testing.assert_allclose(to_np(ours), theirs.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
    assert repr(xe) == repr(te)
    if "max_norm" in kw:  # F.embedding renorms the table it is given, as torch's
        opts = dict(max_norm=kw["max_norm"], norm_type=kw.get("norm_type", 2.0))
        tw, xw = torch.tensor(W), xpnn.tensor(W, backend=backend, dtype="float64")
        torch.nn.functional.embedding(torch.tensor(ids), tw, **opts)
        F.embedding(xpnn.tensor(ids, backend=backend), xw, **opts)
        np.testing.assert_allclose(to_np(xw), tw.numpy(), rtol=1e-12, atol=1e-12)


def test_embedding_options_refused_clearly():
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding(4, 2, max_norm=-1.0)
    with pytest.raises(ValueError, match="_weight of shape"):
        nn.Embedding(4, 2, _weight=xpnn.zeros(3, 2))
    frozen = nn.Embedding(4, 2, _weight=xpnn.zeros(4, 2), _freeze=True)
    assert not frozen.weight.requires_grad
