"""Sparse COO tensors where GCN-style programs put them, against torch 2.13: sparse buffers
through the Module API (register_buffer, to/double/half/cpu, state_dict, load_state_dict,
deepcopy), xpnn.save/load of sparse tensors and of state dicts holding one, the elementwise
ops that keep zeros (values, layout, coalesced flag, values-level gradients with float64
checks), div with rounding modes and //, index_select, s[i], narrow_copy, cat/stack,
default_collate's refusal and is_tensor.
"""
import copy
import io

import numpy as np
import pytest
import torch
from conftest import to_np

import xpnn

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

IDX = np.array([[0, 1, 2, 0, 2], [1, 2, 0, 1, 2]], dtype=np.int64)  # (0, 1) stored twice
VAL = np.array([1.5, -2.0, 0.25, -0.7, 0.4])


def pair(dtype="float64", val=VAL, leaf=False):
    xs = xpnn.sparse_coo_tensor(xpnn.tensor(IDX), xpnn.tensor(val, dtype=dtype), (3, 3),
                                requires_grad=leaf)
    ts = torch.sparse_coo_tensor(torch.tensor(IDX), torch.tensor(val, dtype=getattr(torch, dtype)),
                                 (3, 3), requires_grad=leaf)
    return xs, ts


def same(xs, ts, flag=True, tol=1e-6):
    """Same layout, size, nnz, entries (in order) and, with ``flag``, coalesced flag."""
    assert xs.layout == xpnn.sparse_coo and ts.layout == torch.sparse_coo
    assert tuple(xs.shape) == tuple(ts.shape) and xs._nnz() == ts._nnz()
    assert not flag or xs.is_coalesced() == ts.is_coalesced()
    np.testing.assert_array_equal(to_np(xs._indices()), ts._indices().numpy())
    np.testing.assert_allclose(to_np(xs._values()).astype(float),
                               ts._values().detach().numpy().astype(float), rtol=tol, atol=tol)


def _gcn(lib):
    class M(lib.nn.Module):
        def __init__(self, n=3):
            super().__init__()
            idx = lib.tensor(IDX[:, :n + 1] % n)
            self.register_buffer("adj", lib.sparse_coo_tensor(idx, lib.ones(n + 1), (n, n)))
            self.lin = lib.nn.Linear(3, 2)

        def forward(self, x):
            return self.lin(lib.sparse.mm(self.adj, x))
    return M


# -- Module buffers -------------------------------------------------------------------------
def test_sparse_buffer_module_api(backend):
    M = _gcn(xpnn)
    m = M()
    assert list(dict(m.named_buffers())) == ["adj"] and m.adj.is_sparse
    assert "adj" not in repr(m)  # buffers are not in a Module's repr (torch's too)
    assert tuple(m(xpnn.ones(3, 3)).shape) == (3, 2)
    assert xpnn.backend.dtype_name(m.double().adj.dtype) == "float64"
    if "array_api_strict" not in backend:  # it has no float16
        assert xpnn.backend.dtype_name(m.half().adj.dtype) == "float16"
    m.float().cpu()
    assert xpnn.backend.dtype_name(m.adj.dtype) == "float32" and m.adj._indices().dtype == \
        m.adj._indices().xp.int64
    sd = m.state_dict()
    assert list(sd) == ["adj", "lin.weight", "lin.bias"] and sd["adj"].is_sparse
    m2 = copy.deepcopy(m)
    assert m2.adj is not m.adj and to_np(m2.adj.to_dense()).tolist() == \
        to_np(m.adj.to_dense()).tolist()
    m3 = M()
    held = m3.adj
    m3.adj = m3.adj * 2.0  # assigning a sparse value to a buffer
    m3.load_state_dict(sd)
    assert m3.adj is not held
    np.testing.assert_array_equal(to_np(m3.adj.to_dense()), to_np(m.adj.to_dense()))


def test_sparse_buffer_load_errors():
    sd = _gcn(xpnn)().state_dict()
    tsd = _gcn(torch)().state_dict()
    with pytest.raises(RuntimeError, match="size mismatch for adj") as te:
        _gcn(torch)(4).load_state_dict(tsd)
    with pytest.raises(RuntimeError, match="size mismatch for adj: copying a param with shape"):
        _gcn(xpnn)(4).load_state_dict(sd)
    assert "copying a param with shape" in str(te.value)
    sd["adj"] = sd["adj"].to_dense()
    with pytest.raises(RuntimeError, match="cannot copy a dense value into a sparse"):
        _gcn(xpnn)().load_state_dict(sd)


def test_sparse_parameter_refused():
    xs, ts = pair()
    assert torch.nn.Parameter(ts).is_sparse  # torch trains these; xpnn says so clearly
    with pytest.raises(NotImplementedError, match="sparse COO tensor cannot be a Parameter"):
        xpnn.nn.Parameter(xs)


# -- save / load ---------------------------------------------------------------------------
@pytest.mark.parametrize("coalesce", [False, True])
def test_save_load_sparse_round_trip(backend, tmp_path, coalesce):
    xs, ts = pair("float32")
    if coalesce:
        xs, ts = xs.coalesce(), ts.coalesce()
    buf = io.BytesIO()
    xpnn.save(xs, buf)
    buf.seek(0)
    back = xpnn.load(buf)
    same(back, ts)
    assert back.is_coalesced() == xs.is_coalesced()
    np.testing.assert_array_equal(to_np(back._values()), to_np(xs._values()))
    path = str(tmp_path / "sd.safetensors")  # a state dict holding one, written atomically
    m = _gcn(xpnn)()
    xpnn.save({"model": m.state_dict(), "epoch": 3}, path)
    got = xpnn.load(path)
    assert got["epoch"] == 3 and got["model"]["adj"].is_sparse
    m2 = _gcn(xpnn)()
    m2.load_state_dict(got["model"])
    np.testing.assert_array_equal(to_np(m2.adj.to_dense()), to_np(m.adj.to_dense()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sd.safetensors"]  # no temp left


# -- elementwise ops -----------------------------------------------------------------------
OPS = ["abs", "neg", "sqrt", "sin", "tan", "tanh", "asin", "atan", "sinh", "asinh", "erf",
       "expm1", "log1p", "relu", "sign", "sgn", "trunc", "floor", "ceil", "round", "frac",
       "square", "nan_to_num", "deg2rad", "rad2deg", "isnan", "isinf"]


@pytest.mark.parametrize("op", OPS)
def test_unary_keeps_zeros(backend, op):
    val = np.clip(VAL, -0.9, 0.9) if op in ("asin",) else VAL
    if op == "sqrt":
        val = np.abs(VAL)
    for co in (False, True):
        xs, ts = pair(val=val)
        if co:
            xs, ts = xs.coalesce(), ts.coalesce()
        same(getattr(xpnn, op)(xs), getattr(torch, op)(ts))
        same(getattr(xs, op)(), getattr(ts, op)())
    same(xpnn.nn.functional.relu(xs), torch.nn.functional.relu(ts))


@pytest.mark.parametrize("op", ["exp", "cos", "sigmoid", "log"])
def test_unary_not_keeping_zeros_refused(op):
    xs, ts = pair()
    with pytest.raises(NotImplementedError):
        getattr(torch, op)(ts)
    with pytest.raises(NotImplementedError, match=f"aten::{op}"):
        getattr(xpnn, op)(xs)
    with pytest.raises(NotImplementedError, match=f"aten::{op}"):
        getattr(xs, op)()


def test_pow_div_floordiv(backend):
    xs, ts = pair()
    for e in (2, 0.5, 3, 2.5):
        same(xs.pow(e), ts.abs().pow(e) if False else ts.pow(e)) if e in (2, 3) else \
            same(xs.abs().pow(e), ts.abs().pow(e))
        same(xpnn.pow(xs.abs(), e), torch.pow(ts.abs(), e))
    with pytest.raises(RuntimeError, match="zeroth power"):
        ts.pow(0)
    with pytest.raises(RuntimeError, match="zeroth power"):
        xs.pow(0)
    for mode in ("floor", "trunc", None):
        same(xpnn.div(xs, 2, rounding_mode=mode), torch.div(ts, 2, rounding_mode=mode))
    same(xs // 2, ts // 2)
    same(xs / 2, ts / 2)
    with pytest.raises(RuntimeError, match="requires a scalar or zero-dim dense tensor"):
        ts // torch.ones(3, 3)
    with pytest.raises(RuntimeError, match="requires a scalar or zero-dim dense tensor"):
        xs // xpnn.ones(3, 3)


@pytest.mark.parametrize("op", ["relu", "abs", "square", "log1p", "deg2rad", "neg", "frac",
                                "pow"])
@pytest.mark.filterwarnings("ignore:log1p_backward")
def test_unary_grad_as_torch(op):
    """Where torch has a sparse backward, the same values-level gradient (as dense)."""
    xs, ts = pair(val=np.abs(VAL) + 0.1, leaf=True)
    f = (lambda s: s.pow(2.5)) if op == "pow" else (lambda s: getattr(s, op)())
    torch.sparse.sum(f(ts)).backward()
    xpnn.sparse.sum(f(xs)).backward()
    np.testing.assert_allclose(to_np(xs.grad.to_dense()), ts.grad.to_dense().numpy(),
                               rtol=1e-10)


@pytest.mark.parametrize("op", ["sqrt", "sin", "tanh", "asinh", "erf", "expm1", "pow"])
def test_unary_gradcheck(op):
    """float64 finite differences through the values (also where torch has no sparse
    backward: xpnn's gradient is the values' own)."""
    def f(v):
        s = xpnn.sparse_coo_tensor(xpnn.tensor(IDX), v, (3, 3))
        out = s.pow(1.5) if op == "pow" else getattr(xpnn, op)(s)
        return out.to_dense()
    v = xpnn.tensor(np.abs(VAL) * 0.5 + 0.1, dtype="float64", requires_grad=True)
    assert xpnn.autograd.gradcheck(f, (v,))


# -- selection and joining -----------------------------------------------------------------
def test_index_select_getitem_narrow(backend):
    for co in (False, True):
        xs, ts = pair()
        if co:
            xs, ts = xs.coalesce(), ts.coalesce()
        for dim, idx in ((0, [2, 0, 0]), (1, [1]), (1, [0, 2]), (0, [])):
            same(xs.index_select(dim, xpnn.tensor(idx, dtype=xpnn.int64)),
                 ts.index_select(dim, torch.tensor(idx, dtype=torch.int64)))
        for i in (0, -1, 2):
            same(xs[i], ts[i])
        same(xs.narrow_copy(1, 1, 2), ts.narrow_copy(1, 1, 2))
        same(xs.narrow_copy(0, 0, 1), ts.narrow_copy(0, 0, 1))
    v = xpnn.sparse_coo_tensor(xpnn.tensor([[0, 1, 1]]), xpnn.tensor([1.0, 2.0, 3.0]), (3,))
    assert float(v[1]) == 5.0 and v[1].ndim == 0
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        xs[5]
    with pytest.raises(IndexError, match="index contains 5 that is out of range"):
        xs.index_select(0, xpnn.tensor([5]))
    with pytest.raises(RuntimeError, match="Invalid range to narrow"):
        xs.narrow_copy(0, 2, 3)


def test_index_select_grad():
    def f(v):
        s = xpnn.sparse_coo_tensor(xpnn.tensor(IDX), v, (3, 3))
        return s.index_select(0, xpnn.tensor([2, 0, 0])).to_dense()
    assert xpnn.autograd.gradcheck(f, (xpnn.tensor(VAL, dtype="float64", requires_grad=True),))


def test_cat_stack_collate(backend):
    xs, ts = pair()
    xc, tc = xs.coalesce(), ts.coalesce()
    for dim in (0, 1):
        same(xpnn.cat([xs, xc], dim), torch.cat([ts, tc], dim))
    for dim in (0, 1, 2):
        same(xpnn.stack([xs, xc], dim), torch.stack([ts, tc], dim))
    with pytest.raises(RuntimeError, match="a dense tensor was found at position 1"):
        xpnn.cat([xs, xpnn.ones(3, 3)])
    other = xpnn.sparse_coo_tensor(xpnn.tensor(IDX), xpnn.tensor(VAL), (3, 4))
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        xpnn.stack([xs, other])
    with pytest.raises(RuntimeError, match="All tensors must have the same shape"):
        xpnn.cat([xs, other])
    msg = "Batches of sparse tensors are not currently supported by the default collate_fn"
    with pytest.raises(RuntimeError, match=msg):
        torch.utils.data.default_collate([ts, ts])
    with pytest.raises(RuntimeError, match=msg):
        xpnn.utils.data.default_collate([xs, xs])


def test_is_tensor():
    xs, ts = pair()
    assert torch.is_tensor(ts) and xpnn.is_tensor(xs)
    assert not isinstance(xs, xpnn.Tensor)  # a sparse tensor is its own class in xpnn


class _Net(xpnn.nn.Module):
    """A module-level GCN layer for whole-module saving (its class must be importable)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("adj", xpnn.sparse_coo_tensor(xpnn.tensor(IDX), xpnn.tensor(VAL),
                                                           (3, 3)))
        self.lin = xpnn.nn.Linear(3, 2)


def test_save_load_whole_module_with_sparse_buffer(backend):
    m = _Net()
    m.adj = m.adj * 3.0
    buf = io.BytesIO()
    xpnn.save(m, buf)
    buf.seek(0)
    with xpnn.serialization.safe_globals([_Net]):
        back = xpnn.load(buf)
    assert back.adj.is_sparse and back.adj.is_coalesced() == m.adj.is_coalesced()
    np.testing.assert_array_equal(to_np(back.adj._values()), to_np(m.adj._values()))
    np.testing.assert_array_equal(to_np(back.lin.weight), to_np(m.lin.weight))


def test_module_to_moves_sparse_buffer_backend():
    m = _Net()
    m.to("torch")
    assert m.adj.backend == "torch" and m.adj._indices().backend == "torch"
    m.to("numpy")
    assert m.adj.backend == "numpy" and m.adj._indices().backend == "numpy"
