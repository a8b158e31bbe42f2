"""Regression tests for what the sparse graph programs (tests/pytorch_programs/tutorials/
gcn_sparse.py, lightgcn.py, edge_attention.py) found, against torch 2.13 on every backend:

* ``mask[idx] = True`` and integer advanced-index assignment on the backends without
  integer-array assignment (array-api-strict): booleans went through a matmul, integers
  through a division (xpnn/functional/assign_portable.py);
* ``torch.sum(S, dim)`` of a sparse COO tensor (torch.sparse.sum's result; it refused);
* a sparse tensor's repr: a dtype that is not implied prints after nnz, not inside the
  values, and empty values print their size (xpnn/_sparse_print.py);
* the deprecated ``torch.sparse.FloatTensor`` / ``DoubleTensor`` / ``LongTensor``;
* the programs' pipelines on identical data: the GCN normalisation D^-1/2 (A + I) D^-1/2
  (coalesce, sparse.sum degrees, pow(-0.5), masked_fill of inf) with sparse.mm, and the
  learned edge weights (sparse_coo_tensor of MLP scores, sparse.softmax, sparse.mm),
  forward and gradients, plus float64 gradient checks of the latter.

Tolerances: float32 results within 100 float32 eps of torch's (relative and absolute: sums
of a few terms in another order); float64 gradient checks at gradcheck's defaults.
"""
import re
import warnings

import numpy as np
import pytest
from conftest import to_np

import xpnn

torch = pytest.importorskip("torch")

TOL32 = 100 * np.finfo(np.float32).eps
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's notice


def close(x, t, tol=TOL32):
    assert tuple(x.shape) == tuple(t.shape)
    assert xpnn.backend.dtype_name(x.dtype) == str(t.dtype).rsplit(".", 1)[-1]
    np.testing.assert_allclose(to_np(x), t.detach().numpy(), rtol=tol, atol=tol)


# -- advanced-index assignment of booleans and integers ---------------------------------------
@pytest.mark.parametrize("dtype,value", [("bool", True), ("int64", 3), ("int32", 7),
                                         ("uint8", 200), ("int64", 2.7), ("float32", 2.5)])
def test_index_assignment_non_float(backend, dtype, value):
    """``x[idx] = v`` with repeated positions, as a program's boolean masks write it."""
    x = xpnn.zeros(6, dtype=getattr(xpnn, dtype))
    t = torch.zeros(6, dtype=getattr(torch, dtype))
    x[xpnn.tensor([4, 1, 1])] = value
    t[torch.tensor([4, 1, 1])] = value
    assert xpnn.backend.dtype_name(x.dtype) == dtype
    np.testing.assert_array_equal(to_np(x), t.numpy())


def test_index_assignment_bool_2d_and_tensor_values(backend):
    m = xpnn.zeros(3, 4, dtype=xpnn.bool)
    tm = torch.zeros(3, 4, dtype=torch.bool)
    m[xpnn.tensor([0, 2, 2]), xpnn.tensor([1, 3, 3])] = True
    tm[torch.tensor([0, 2, 2]), torch.tensor([1, 3, 3])] = True
    np.testing.assert_array_equal(to_np(m), tm.numpy())
    # distinct positions, a tensor of values
    x = xpnn.full((2, 5), -1, dtype=xpnn.int64)
    t = torch.full((2, 5), -1, dtype=torch.int64)
    x[:, xpnn.tensor([3, 0])] = xpnn.tensor([[5, 6], [7, 8]])
    t[:, torch.tensor([3, 0])] = torch.tensor([[5, 6], [7, 8]])
    np.testing.assert_array_equal(to_np(x), t.numpy())
    # a boolean mask as the value's positions (the train/val/test masks of the programs)
    perm = xpnn.tensor([5, 0, 3, 1, 4, 2])
    mask = xpnn.zeros(6, dtype=xpnn.bool)
    mask[perm[:3]] = True
    assert to_np(mask).tolist() == [True, False, False, True, False, True]


# -- torch.sum of a sparse tensor -------------------------------------------------------------
IDX = [[0, 1, 1, 2, 2, 0, 1], [1, 0, 2, 1, 0, 2, 1]]
VAL = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_torch_sum_of_sparse(backend):
    xs = xpnn.sparse_coo_tensor(IDX, VAL, (3, 3))
    ts = torch.sparse_coo_tensor(IDX, VAL, (3, 3))
    for args in ((1,), (0,), (-1,)):
        got, want = xpnn.sum(xs, *args), torch.sum(ts, *args)
        assert got.is_sparse and want.is_sparse
        np.testing.assert_array_equal(to_np(got.indices()), want.indices().numpy())
        close(got.values(), want.values())
    close(xpnn.sum(xs), torch.sum(ts))
    close(xpnn.sum(xs, dim=(0, 1)), torch.sum(ts, dim=(0, 1)))
    got = xpnn.sum(xs, 1, dtype=xpnn.float64)
    assert xpnn.backend.dtype_name(got.dtype) == "float64"
    # the gradient of a degree vector read by torch.sum(S, 1).to_dense()
    xv = xpnn.tensor(VAL, requires_grad=True)
    tv = torch.tensor(VAL, requires_grad=True)
    w = [1.0, -2.0, 0.5]
    (xpnn.sum(xpnn.sparse_coo_tensor(IDX, xv, (3, 3)), 1).to_dense() * xpnn.tensor(w)).sum() \
        .backward()
    # (torch's own backward through torch.sum(S, 1).to_dense() fails: "expand is unsupported
    # for Sparse tensors"; torch.sparse.sum is the same sum)
    (torch.sparse.sum(torch.sparse_coo_tensor(IDX, tv, (3, 3)), 1).to_dense()
     * torch.tensor(w)).sum().backward()
    close(xv.grad, tv.grad)


# -- printing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "bool",
                                   "uint8"])
@pytest.mark.parametrize("nnz", [2, 0])
def test_sparse_repr_dtype_after_nnz(dtype, nnz):
    idx = np.array([[0, 1], [1, 0]], np.int64)[:, :nnz]
    val = np.array([1, 2])[:nnz]
    xs = xpnn.sparse_coo_tensor(xpnn.tensor(idx), xpnn.tensor(val).to(getattr(xpnn, dtype)),
                                (2, 2))
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val).to(getattr(torch, dtype)),
                                 (2, 2))
    assert repr(xs) == repr(ts).replace("torch.", "xpnn.")


def test_sparse_repr_hybrid_empty_and_float64_default():
    idx = np.zeros((2, 0), np.int64)
    xs = xpnn.sparse_coo_tensor(xpnn.tensor(idx), xpnn.zeros(0, 3, dtype=xpnn.float64),
                                (2, 2, 3))
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.zeros(0, 3, dtype=torch.float64),
                                 (2, 2, 3))
    assert repr(xs) == repr(ts).replace("torch.", "xpnn.")
    xpnn.set_default_dtype(xpnn.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for dtype in ("float32", "float64"):
            xs = xpnn.sparse_coo_tensor(IDX, xpnn.tensor(VAL, dtype=getattr(xpnn, dtype)),
                                        (3, 3))
            ts = torch.sparse_coo_tensor(IDX, torch.tensor(VAL, dtype=getattr(torch, dtype)),
                                         (3, 3))
            assert repr(xs) == repr(ts).replace("torch.", "xpnn.")
    finally:
        xpnn.set_default_dtype(xpnn.float32)
        torch.set_default_dtype(torch.float32)


def test_sparse_repr_autograd_tail():
    xs = xpnn.sparse_coo_tensor(IDX, VAL, (3, 3), dtype=xpnn.float64, requires_grad=True)
    ts = torch.sparse_coo_tensor(IDX, VAL, (3, 3), dtype=torch.float64, requires_grad=True)
    assert repr(xs) == repr(ts).replace("torch.", "xpnn.")


# -- the legacy typed constructors ------------------------------------------------------------
def _legacy(lib, name, *args):
    """The constructor's result; xpnn's call warns (torch's warns once per process)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = getattr(lib.sparse, name)(*args)
    if lib is xpnn:
        assert len(caught) == 1 and caught[0].category is UserWarning
        assert re.search(r"torch\.sparse\.SparseTensor\(.*\) is deprecated.  Please use "
                         r"torch\.sparse_coo_tensor\(", str(caught[0].message))
    return out


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor"])
def test_legacy_sparse_constructors(name):
    for lib_values in ((VAL, "float32"), ([1, 2, 3, 4, 5, 6, 7], "int64"), (VAL, "float64")):
        vals, dtype = lib_values
        xi, ti = xpnn.tensor(IDX), torch.tensor(IDX)
        xv = xpnn.tensor(vals, dtype=getattr(xpnn, dtype))
        tv = torch.tensor(vals, dtype=getattr(torch, dtype))
        got, want = _legacy(xpnn, name, xi, xv, xpnn.Size([3, 3])), \
            _legacy(torch, name, ti, tv, torch.Size([3, 3]))
        close(got.to_dense(), want.to_dense(), tol=0)
        got, want = _legacy(xpnn, name, xi, xv), _legacy(torch, name, ti, tv)
        assert tuple(got.shape) == tuple(want.shape)
    got, want = _legacy(xpnn, name, 2, 3), _legacy(torch, name, 2, 3)
    assert repr(got) == repr(want).replace("torch.", "xpnn.")
    with pytest.raises(RuntimeError, match=f"sparse.{name}: indices must be an int64 tensor, "
                                           "got int32"):
        getattr(xpnn.sparse, name)(xpnn.tensor(IDX, dtype=xpnn.int32), xpnn.tensor(VAL))


# -- the programs' pipelines on identical data ------------------------------------------------
EDGES = np.array([[0, 1, 1, 2, 3, 4, 4, 0, 5, 1],
                  [1, 2, 2, 3, 4, 0, 5, 4, 1, 0]], np.int64)  # (1, 2) twice; node 6 alone
N = 7


def _normalized(lib, edges, add_loops):
    """gcn_sparse.py's normalized_adjacency, written once for both libraries."""
    edge_index = lib.cat([edges, edges.flip(0)], dim=1)
    if add_loops:
        loops = lib.arange(N).unsqueeze(0).repeat(2, 1)
        edge_index = lib.cat([edge_index, loops], dim=1)
    adj = lib.sparse_coo_tensor(edge_index, lib.ones(edge_index.size(1)), (N, N)).coalesce()
    adj = lib.sparse_coo_tensor(adj.indices(), lib.ones_like(adj.values()), adj.shape)
    adj = adj.coalesce()
    deg = lib.sparse.sum(adj, dim=1).to_dense()
    d = deg.pow(-0.5)
    d = d.masked_fill(lib.isinf(d), 0.0)
    row, col = adj.indices()
    values = d[row] * adj.values() * d[col]
    return lib.sparse_coo_tensor(adj.indices(), values, (N, N)).coalesce(), deg


@pytest.mark.parametrize("add_loops", [True, False])
def test_gcn_normalisation_and_propagation(backend, rng, add_loops):
    xa, da = _normalized(xpnn, xpnn.tensor(EDGES), add_loops)
    ta, tda = _normalized(torch, torch.tensor(EDGES), add_loops)
    np.testing.assert_array_equal(to_np(xa.indices()), ta.indices().numpy())
    close(xa.values(), ta.values())
    close(da, tda)
    assert (to_np(da) == 0).sum() == (0 if add_loops else 1)  # node 6: inf masked to 0
    x = rng.standard_normal((N, 5)).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    xx, xw = xpnn.tensor(x, requires_grad=True), xpnn.tensor(w, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    # two propagation layers, the LightGCN layer mean over them
    xh1 = xpnn.sparse.mm(xa, xx @ xw)
    th1 = torch.sparse.mm(ta, tx @ tw)
    xout = xpnn.stack([xx @ xw, xh1, xpnn.sparse.mm(xa, xh1)]).mean(0)
    tout = torch.stack([tx @ tw, th1, torch.sparse.mm(ta, th1)]).mean(0)
    close(xout, tout)
    (xout ** 2).sum().backward()
    (tout ** 2).sum().backward()
    close(xx.grad, tx.grad)
    close(xw.grad, tw.grad)


def _edge_attention(lib, x, w_score, w_lin, edges):
    """edge_attention.py's layer without the MLP's hidden layer: scores from the endpoint
    features, sparse softmax over each node's incoming edges, sparse.mm aggregation."""
    src, dst = edges
    scores = lib.tanh(lib.cat([x[dst], x[src]], dim=1) @ w_score).squeeze(-1)
    adj = lib.sparse_coo_tensor(lib.stack([dst, src]), scores, (N, N))
    attention = lib.sparse.softmax(adj, dim=1)
    return lib.sparse.mm(attention, x @ w_lin), attention


def _loop_edges(lib):
    loops = lib.arange(N).unsqueeze(0).repeat(2, 1)
    e = lib.tensor(EDGES[:, [0, 1, 3, 4, 5, 6, 7, 8, 9]])  # no repeated edge
    return lib.cat([e, loops], dim=1)


def test_edge_attention_forward_and_gradients(backend, rng):
    x = rng.standard_normal((N, 4)).astype(np.float32)
    ws = rng.standard_normal((8, 1)).astype(np.float32)
    wl = rng.standard_normal((4, 3)).astype(np.float32)
    xs = [xpnn.tensor(a, requires_grad=True) for a in (x, ws, wl)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, ws, wl)]
    xout, xatt = _edge_attention(xpnn, *xs, _loop_edges(xpnn))
    tout, tatt = _edge_attention(torch, *ts, _loop_edges(torch))
    np.testing.assert_array_equal(to_np(xatt.indices()), tatt.indices().numpy())
    close(xatt.values(), tatt.values())
    close(xpnn.sparse.sum(xatt, dim=1).to_dense(), torch.sparse.sum(tatt, dim=1).to_dense())
    close(xout, tout)
    g = rng.standard_normal((N, 3)).astype(np.float32)
    (xout * xpnn.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    for a, b in zip(xs, ts):
        close(a.grad, b.grad)


def test_edge_attention_gradcheck_float64(host_backend, rng):
    args = [xpnn.tensor(rng.standard_normal(s), dtype=xpnn.float64, requires_grad=True)
            for s in ((N, 4), (8, 1), (4, 3))]
    edges = _loop_edges(xpnn)
    assert xpnn.gradcheck(lambda x, ws, wl: _edge_attention(xpnn, x, ws, wl, edges)[0], *args)
