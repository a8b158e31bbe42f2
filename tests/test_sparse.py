"""Sparse COO tensors (xpnn/_sparse_coo.py, xpnn/sparse/) against torch 2.13: construction
and its checks, coalesce, to_dense, the products (sparse.mm, mm, matmul, @, spmm, addmm),
sparse.sum, sparse.softmax/log_softmax, gradients w.r.t. the values and the dense operand,
float64 gradient checks, and a small GCN trained on both libraries from the same weights.

Tolerances: float32 results against torch's float32 within 100 eps (sums of a few terms in
another order); float64 gradient checks at gradcheck's defaults.
"""
import re

import numpy as np
import pytest
import torch
from conftest import to_np

import xpnn

TOL32 = 100 * np.finfo(np.float32).eps
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's notice

# an uncoalesced 4 x 5 matrix: (1, 3) is stored twice, entries out of order
IDX = np.array([[1, 0, 3, 1, 2, 0, 3], [3, 4, 0, 3, 1, 0, 4]], dtype=np.int64)
VAL = np.array([0.5, -1.0, 2.0, 1.5, -0.25, 3.0, 0.75], dtype=np.float32)
SIZE = (4, 5)


def pair(idx=IDX, val=VAL, size=SIZE, dtype="float32", grad=False, leaf=False):
    """The same sparse tensor in xpnn and torch: (xpnn S, torch S, xpnn values, torch
    values); ``grad``: the values require grad; ``leaf``: the sparse tensor is a leaf."""
    xv = xpnn.tensor(val, dtype=dtype, requires_grad=grad)
    tv = torch.tensor(val, dtype=getattr(torch, dtype), requires_grad=grad)
    xs = xpnn.sparse_coo_tensor(xpnn.tensor(idx), xv, size, requires_grad=leaf)
    ts = torch.sparse_coo_tensor(torch.tensor(idx), tv, size, requires_grad=leaf)
    return xs, ts, xv, tv


def close(x, t, tol=TOL32):
    """xpnn dense result ``x`` equals torch's ``t`` in shape, dtype and value."""
    assert isinstance(x, xpnn.Tensor), type(x)
    assert tuple(x.shape) == tuple(t.shape)
    assert str(x.dtype).rsplit(".", 1)[-1] == str(t.dtype).rsplit(".", 1)[-1]
    np.testing.assert_allclose(to_np(x), t.detach().numpy(), rtol=tol, atol=tol)


def same_sparse(xs, ts, tol=TOL32, flag=True):
    """Two sparse COO tensors hold the same entries in the same order (and, with ``flag``,
    the same is_coalesced flag)."""
    assert xs.is_sparse and xs.layout == xpnn.sparse_coo
    assert tuple(xs.shape) == tuple(ts.shape) and xs._nnz() == ts._nnz()
    assert not flag or xs.is_coalesced() == ts.is_coalesced()
    np.testing.assert_array_equal(to_np(xs._indices()), ts._indices().numpy())
    close(xs._values(), ts._values(), tol)


def dt(x):
    """A tensor's dtype by name ("float32"), comparable across backends."""
    return xpnn.backend.dtype_name(x.dtype)


def dense(rng, shape, grad=False, dtype="float32"):
    a = rng.standard_normal(shape).astype(dtype)
    return (xpnn.tensor(a, requires_grad=grad),
            torch.tensor(a, requires_grad=grad))


# -- construction and metadata ------------------------------------------------------------
def test_metadata(backend):
    xs, ts, _, _ = pair()
    assert xs.shape == xpnn.Size([4, 5]) and xs.size() == (4, 5) and xs.size(-1) == 5
    assert (xs.ndim, xs.dim(), xs.sparse_dim(), xs.dense_dim(), xs._nnz()) == (2, 2, 2, 0, 7)
    assert dt(xs) == "float32" and xs.is_sparse and not xpnn.ones(2).is_sparse
    assert xs.layout == xpnn.sparse_coo and xpnn.ones(2).layout == xpnn.strided
    assert not xs.is_coalesced() and not ts.is_coalesced()
    assert str(xs.device) == str(xpnn.ones(1).device)
    np.testing.assert_array_equal(to_np(xs.to_dense()), ts.to_dense().numpy())
    same_sparse(xs.coalesce(), ts.coalesce())
    same_sparse(xs._indices() is not None and xs, ts)  # the parts as given
    c = xs.coalesce()
    np.testing.assert_array_equal(to_np(c.indices()), ts.coalesce().indices().numpy())
    close(c.values(), ts.coalesce().values())
    assert c.coalesce() is c


def test_infer_size_and_hybrid(backend):
    xs = xpnn.sparse_coo_tensor([[0, 2], [1, 0]], [1.0, 2.0])
    ts = torch.sparse_coo_tensor([[0, 2], [1, 0]], [1.0, 2.0])
    assert tuple(xs.shape) == tuple(ts.shape) == (3, 2)
    assert dt(xs) == "float32"
    assert dt(xpnn.sparse_coo_tensor([[0, 1]], [1, 2], (3,))) == "int64"
    h = [[1.0, 2.0], [3.0, 4.0]]
    xh = xpnn.sparse_coo_tensor([[2, 0]], h, (3, 2))
    th = torch.sparse_coo_tensor([[2, 0]], h, (3, 2))
    assert (xh.sparse_dim(), xh.dense_dim()) == (1, 1)
    close(xh.to_dense(), th.to_dense())
    same_sparse(xh.coalesce(), th.coalesce())
    assert xpnn.sparse_coo_tensor([[0]], [1.0], (3,)).is_coalesced()  # nnz <= 1
    assert xpnn.sparse_coo_tensor(IDX, VAL, SIZE, is_coalesced=True).is_coalesced()
    assert dt(xpnn.sparse_coo_tensor(IDX, VAL, SIZE, dtype=xpnn.float64)) == "float64"


def test_construction_errors(backend):
    bad = [lambda: xpnn.sparse_coo_tensor(xpnn.tensor([0, 1]), [1.0, 2.0], (3,)),
           lambda: xpnn.sparse_coo_tensor([[0, 1]], [1.0, 2.0, 3.0], (3,)),
           lambda: xpnn.sparse_coo_tensor([[0, 1], [1, 1]], [1.0, 2.0], (3,)),
           lambda: xpnn.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3, 2))]
    for case in bad:
        with pytest.raises(RuntimeError, match="sparse_coo_tensor"):
            case()
    with pytest.raises(TypeError, match="int64"):
        xpnn.sparse_coo_tensor(xpnn.tensor([[0.0, 1.0]]), [1.0, 2.0], (3,))
    if xpnn.ones(1)._be.on_host:  # range checks read host memory only (no device syncs)
        with pytest.raises(IndexError, match="for dim 0, size is 3 but found index 5"):
            xpnn.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
        with pytest.raises(IndexError, match="negative index -1"):
            xpnn.sparse_coo_tensor([[0, -1]], [1.0, 2.0], (3,))
    xs, ts, _, _ = pair()
    for f in (lambda s: s.indices(), lambda s: s.values()):
        with pytest.raises(RuntimeError, match="uncoalesced") as got:
            f(xs)
        with pytest.raises(RuntimeError, match=re.escape(str(got.value))):
            f(ts)


def test_repr_matches_torch():
    xs, ts, _, _ = pair(leaf=True)
    assert repr(xs) == repr(ts).replace("torch.", "xpnn.")
    xc, tc = xs.detach().coalesce(), ts.detach().coalesce()
    assert repr(xc) == repr(tc).replace("torch.", "xpnn.")
    x1 = xpnn.sparse.sum(xc, 1)
    assert "size=(4,), nnz=4" in repr(x1)


# -- products ------------------------------------------------------------------------------
PRODUCTS = {
    "sparse.mm": lambda lib, s, d: lib.sparse.mm(s, d),
    "mm": lambda lib, s, d: lib.mm(s, d),
    "matmul": lambda lib, s, d: lib.matmul(s, d),
    "@": lambda lib, s, d: s @ d,
    "spmm": lambda lib, s, d: lib.spmm(s, d),
    "addmm": lambda lib, s, d: lib.sparse.addmm(
        lib.ones(4, 3, dtype=d.dtype), s, d, beta=0.5, alpha=2.0),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_products_values_and_grads(backend, rng, name):
    xs, ts, xv, tv = pair(grad=True)
    xd, td = dense(rng, (5, 3), grad=True)
    xy, ty = PRODUCTS[name](xpnn, xs, xd), PRODUCTS[name](torch, ts, td)
    close(xy, ty)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    (xy * xpnn.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    close(xv.grad, tv.grad)
    close(xd.grad, td.grad)


def test_matvec_and_dense_at_sparse(backend, rng):
    xs, ts, _, _ = pair()
    xd, td = dense(rng, (5,))
    close(xs @ xd, ts @ td)
    xl, tl = dense(rng, (2, 4), grad=True)
    close(xl @ xs, tl @ ts)
    close(xpnn.mm(xl, xs), torch.mm(tl, ts))
    (xl @ xs).pow(2).sum().backward()
    (tl @ ts).pow(2).sum().backward()
    close(xl.grad, tl.grad)


def test_sparse_leaf_grad_is_sparse(backend, rng):
    """torch.sparse.mm gives a sparse leaf a sparse .grad: one entry per stored position."""
    xs, ts, _, _ = pair(leaf=True)
    assert xs.requires_grad and xs.is_leaf and xs.grad is None
    xd, td = dense(rng, (5, 3))
    xpnn.sparse.mm(xs, xd).sum().backward()
    torch.sparse.mm(ts, td).sum().backward()
    xg, tg = xs.grad, ts.grad
    assert xg.is_sparse and tg.is_sparse
    np.testing.assert_array_equal(to_np(xg.indices()), tg._indices().numpy())
    close(xg.values(), tg._values())
    xs.grad = None
    assert xs.grad is None
    # to_dense: torch's grad is sparse too, at the stored positions
    xs2, ts2, _, _ = pair(leaf=True)
    (xs2.to_dense() * 3).sum().backward()
    (ts2.to_dense() * 3).sum().backward()
    same_sparse(xs2.grad, ts2.grad, flag=False)  # torch leaves the flag unset


def test_product_errors(backend):
    xs, ts, _, _ = pair()
    for shape, dtype in (((6, 2), "float32"), ((5, 2), "float64")):
        with pytest.raises(RuntimeError, match="sparse.mm"):
            xpnn.sparse.mm(xs, xpnn.ones(*shape, dtype=getattr(xpnn, dtype)))
        with pytest.raises(RuntimeError):
            torch.sparse.mm(ts, torch.ones(*shape, dtype=getattr(torch, dtype)))
    with pytest.raises(IndexError):
        xpnn.sparse.mm(xs, xpnn.ones(5))
    with pytest.raises(TypeError, match="sparse.mm: expected a sparse COO tensor"):
        xpnn.sparse.mm(xpnn.ones(4, 5), xpnn.ones(5, 2))
    with pytest.raises(NotImplementedError, match="sparse @ sparse"):
        xs @ xs.t()


# -- sums, softmax, conversions ------------------------------------------------------------
@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)])
def test_sum(backend, dim):
    xs, ts, xv, tv = pair(grad=True)
    xo = xpnn.sparse.sum(xs) if dim is None else xpnn.sparse.sum(xs, dim)
    to = torch.sparse.sum(ts) if dim is None else torch.sparse.sum(ts, dim)
    if to.is_sparse:
        same_sparse(xo, to)
        xo, to = xo.to_dense(), to.to_dense()
    close(xo, to)
    w = np.arange(1, 1 + to.numel(), dtype=np.float32).reshape(tuple(to.shape))
    (xo * xpnn.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    close(xv.grad, tv.grad)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax(backend, fn, dim):
    val = VAL * 10  # spread: the per-group shift matters
    xs, ts, xv, tv = pair(val=val, grad=True)
    xo, to = getattr(xpnn.sparse, fn)(xs, dim), getattr(torch.sparse, fn)(ts, dim)
    same_sparse(xo, to)
    w = np.linspace(-1, 2, to._nnz()).astype(np.float32)
    (xo.values() * xpnn.tensor(w)).sum().backward()
    (to.values() * torch.tensor(w)).sum().backward()
    close(xv.grad, tv.grad)


def test_shape_arith_conversions(backend, rng):
    xs, ts, xv, tv = pair(grad=True)
    same_sparse(xs.t(), ts.t())
    same_sparse(xs.transpose(0, 1), ts.transpose(0, 1))
    same_sparse(xs * 2, ts * 2)
    same_sparse(2 * xs, 2 * ts)
    same_sparse(xs / 4, ts / 4)
    xc, tc = xs.coalesce(), ts.coalesce()
    x2 = xpnn.sparse_coo_tensor([[0], [1]], [7.0], SIZE).coalesce()
    t2 = torch.sparse_coo_tensor([[0], [1]], [7.0], SIZE).coalesce()
    same_sparse(xc + x2, tc + t2)
    close((xs + xs).to_dense(), (ts + ts).to_dense())  # torch may merge equal index sets
    close((xs - x2).to_dense(), (ts - t2).to_dense())
    with pytest.raises(RuntimeError, match="match"):
        xs + xpnn.sparse_coo_tensor([[0], [0]], [1.0], (4, 6))
    with pytest.raises(RuntimeError, match="not supported"):
        xs + xpnn.ones(4, 5)
    same_sparse(xs.sum(1), ts.sum(1))
    close(xs.sum(), ts.sum())
    x64t = xpnn.sparse_coo_tensor(xs._indices(), xv.detach(), SIZE, dtype=xpnn.float64)
    assert dt(x64t) == "float64" and not x64t.requires_grad
    x64 = xs.to(xpnn.float64)
    assert dt(x64) == "float64" and x64.is_sparse and dt(xs.double()) == "float64"
    d = xs.detach()
    assert not d.requires_grad and d.is_leaf
    assert d.requires_grad_().requires_grad
    a = rng.standard_normal((3, 4)).astype(np.float32)
    a[a < 0.3] = 0
    xa = xpnn.tensor(a, requires_grad=True)
    ta = torch.tensor(a, requires_grad=True)
    same_sparse(xa.to_sparse(), ta.to_sparse())
    same_sparse(xa.to_sparse_coo(), ta.to_sparse_coo())
    same_sparse(xa.to_sparse(1), ta.to_sparse(1))
    (xa.to_sparse().to_dense() * 2).sum().backward()
    (ta.to_sparse().to_dense() * 2).sum().backward()
    close(xa.grad, ta.grad)


# -- float64 gradient checks ---------------------------------------------------------------
def _vals64(grad=True):
    return xpnn.tensor(VAL, dtype=xpnn.float64, requires_grad=grad)


CHECKS = {
    "sparse.mm": lambda v, d: xpnn.sparse.mm(xpnn.sparse_coo_tensor(IDX, v, SIZE), d),
    "dense@sparse": lambda v, d: d.T @ xpnn.sparse_coo_tensor(IDX, v, SIZE).t(),
    "to_dense": lambda v, d: xpnn.sparse_coo_tensor(IDX, v, SIZE).to_dense() * 1.5,
    "coalesce": lambda v, d: xpnn.sparse_coo_tensor(IDX, v, SIZE).coalesce()._values(),
    "sum1": lambda v, d: xpnn.sparse.sum(xpnn.sparse_coo_tensor(IDX, v, SIZE), 1).to_dense(),
    "softmax0": lambda v, d: xpnn.sparse.softmax(
        xpnn.sparse_coo_tensor(IDX, v, SIZE), 0)._values(),
    "log_softmax1": lambda v, d: xpnn.sparse.log_softmax(
        xpnn.sparse_coo_tensor(IDX, v, SIZE), 1)._values(),
    "addmm": lambda v, d: xpnn.sparse.addmm(d[:4] * 0 + 1, xpnn.sparse_coo_tensor(
        IDX, v, SIZE), d, beta=0.3, alpha=-2.0),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_gradcheck_float64(host_backend, rng, name):
    d = xpnn.tensor(rng.standard_normal((5, 3)), dtype=xpnn.float64,
                    requires_grad=True)
    assert dt(d) == "float64"
    assert xpnn.gradcheck(CHECKS[name], _vals64(), d)


def test_sparse_mm_second_order(host_backend, rng):
    d = xpnn.tensor(rng.standard_normal((5, 3)), dtype=xpnn.float64,
                    requires_grad=True)
    assert xpnn.gradgradcheck(
        lambda v, d: xpnn.sparse.mm(xpnn.sparse_coo_tensor(IDX, v, SIZE), d) ** 2,
        _vals64(), d)


# -- a small GCN, trained on both libraries from the same weights ---------------------------
def _graph(rng, n=12):
    """A made-up undirected graph with self loops: (edge index (2, E), node features (n, 6),
    labels (n,))."""
    pairs = {(i, (i + 1) % n) for i in range(n)} | {(i, (i * 5 + 3) % n) for i in range(n)}
    edges = sorted({(a, b) for a, b in pairs if a != b} | {(b, a) for a, b in pairs if a != b} |
                   {(i, i) for i in range(n)})
    return (np.array(edges, dtype=np.int64).T, rng.standard_normal((n, 6)).astype(np.float32),
            rng.integers(0, 3, n).astype(np.int64))


def _gcn_losses(lib, edge, feats, labels, w1, w2, steps=15):
    """Kipf & Welling's two-layer GCN: A_hat = D^-1/2 A D^-1/2 from sparse.sum, learned edge
    weights (gradient w.r.t. the sparse values), Adam; the loss per step."""
    n = feats.shape[0]
    ew = lib.ones(edge.shape[1], requires_grad=True)
    W1 = lib.tensor(w1, requires_grad=True)
    W2 = lib.tensor(w2, requires_grad=True)
    x, y, idx = lib.tensor(feats), lib.tensor(labels), lib.tensor(edge)
    opt = lib.optim.Adam([ew, W1, W2], lr=0.05)
    losses = []
    for _ in range(steps):
        adj = lib.sparse_coo_tensor(idx, ew, (n, n)).coalesce()
        deg = lib.sparse.sum(adj, dim=1).to_dense()
        norm = deg.pow(-0.5)
        vals = norm[adj.indices()[0]] * adj.values() * norm[adj.indices()[1]]
        a_hat = lib.sparse_coo_tensor(adj.indices(), vals, (n, n))
        h = lib.relu(lib.sparse.mm(a_hat, x @ W1))
        out = a_hat @ (h @ W2)
        loss = lib.nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


def test_gcn_matches_torch(backend, rng):
    edge, feats, labels = _graph(rng)
    w1 = (rng.standard_normal((6, 16)) * 0.4).astype(np.float32)
    w2 = (rng.standard_normal((16, 3)) * 0.4).astype(np.float32)
    ours = _gcn_losses(xpnn, edge, feats, labels, w1, w2)
    theirs = _gcn_losses(torch, edge, feats, labels, w1, w2)
    assert theirs[-1] < 0.8 * theirs[0]  # it learns
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
