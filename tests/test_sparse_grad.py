"""Sparse gradients against torch 2.13: nn.Embedding(sparse=True) / F.embedding(sparse=True)
/ nn.EmbeddingBag(sparse=True) give the weight a sparse COO ``.grad`` (one entry per id read,
uncoalesced), accumulation, zero_grad, hooks, clipping; optim.SparseAdam, and the sparse
paths of SGD and Adagrad, stepped from the same weights as torch; the refusals (Adam, AdamW,
RMSprop, dense grads to SparseAdam, weight decay); a small recommender (SparseAdam for the
embeddings, Adam for an MLP) whose losses follow torch's.

Tolerances: float64 trajectories within 1e-10 (the same formulas; sums of a few terms in
another order differ by a few eps); float32 gradients within 100 float32 eps; the
recommender's float32 losses within 1e-4 relative (eight steps of Adam, whose update divides
by sqrt(v), amplify the last-bit differences of float32 sums).
"""
import numpy as np
import pytest
import torch
from conftest import to_np

import xpnn

TOL32 = 100 * np.finfo(np.float32).eps
TOL64 = 1e-10
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's notice

IDS = np.array([[0, 2, 2], [1, 4, 0]], dtype=np.int64)


def table(dtype="float64", shape=(7, 3), seed=0):
    """The same weight table as an xpnn leaf and a torch leaf."""
    W0 = np.random.default_rng(seed).standard_normal(shape)
    return (xpnn.tensor(W0, dtype=getattr(xpnn, dtype), requires_grad=True),
            torch.tensor(W0, dtype=getattr(torch, dtype), requires_grad=True))


def same_grad(xg, tg, tol=TOL32):
    """A sparse xpnn gradient equals torch's: flags, nnz, indices, values, dense form."""
    tg = tg.clone()  # torch cannot grow a gradient whose storage NumPy has seen
    assert xg.is_sparse and tg.is_sparse
    assert xg.is_coalesced() == tg.is_coalesced() and xg._nnz() == tg._nnz()
    assert tuple(xg.shape) == tuple(tg.shape)
    np.testing.assert_array_equal(to_np(xg._indices()), tg._indices().numpy())
    np.testing.assert_allclose(to_np(xg._values()), tg._values().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(to_np(xg.to_dense()), tg.to_dense().numpy(), rtol=tol,
                               atol=tol)
    c, tc = xg.coalesce(), tg.coalesce()
    assert c.is_coalesced() and c._nnz() == tc._nnz()
    np.testing.assert_array_equal(to_np(c.indices()), tc.indices().numpy())
    np.testing.assert_allclose(to_np(c.values()), tc.values().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("padding_idx", [None, 1, -3])
def test_embedding_sparse_grad(backend, padding_idx):
    xw, tw = table("float32")
    xe = xpnn.nn.functional.embedding(xpnn.tensor(IDS), xw, padding_idx, sparse=True)
    te = torch.nn.functional.embedding(torch.tensor(IDS), tw, padding_idx, sparse=True)
    np.testing.assert_allclose(to_np(xe), te.detach().numpy(), rtol=TOL32)
    (xe * xe).sum().backward()
    (te * te).sum().backward()
    same_grad(xw.grad, tw.grad)
    assert xpnn.backend.dtype_name(xw.grad.dtype) == "float32"
    # the dense path's gradient is the sparse one's dense form
    xd, _ = table("float32")
    (xpnn.nn.functional.embedding(xpnn.tensor(IDS), xd, padding_idx) ** 2).sum().backward()
    np.testing.assert_allclose(to_np(xw.grad.to_dense()), to_np(xd.grad), rtol=TOL32)


def test_module_repr_and_accumulation(backend):
    """Two backward calls concatenate the entries; zero_grad to None, or to no entries."""
    torch.manual_seed(0)
    te = torch.nn.Embedding(7, 3, sparse=True)
    xe = xpnn.nn.Embedding(7, 3, sparse=True)
    xe.load_state_dict({"weight": xpnn.tensor(te.weight.detach().numpy())})
    assert repr(xe) == repr(te) == "Embedding(7, 3, sparse=True)"
    for ids in ([3, 1], [2, 1, 1]):
        xe(xpnn.tensor(ids)).sum().backward()
        te(torch.tensor(ids)).sum().backward()
    same_grad(xe.weight.grad, te.weight.grad)
    assert xe.weight.grad._nnz() == 5
    xo = xpnn.optim.SGD(xe.parameters(), lr=0.1)
    to = torch.optim.SGD(te.parameters(), lr=0.1)
    xo.zero_grad(set_to_none=False)
    to.zero_grad(set_to_none=False)
    same_grad(xe.weight.grad, te.weight.grad)  # sparse, nnz 0, coalesced
    xe(xpnn.tensor([5, 5])).sum().backward()
    te(torch.tensor([5, 5])).sum().backward()
    same_grad(xe.weight.grad, te.weight.grad)
    xe.zero_grad(set_to_none=False)  # Module.zero_grad: zero_() in place
    assert xe.weight.grad.is_sparse and xe.weight.grad._nnz() == 0
    xe.zero_grad()
    assert xe.weight.grad is None


def test_sparse_meets_dense(backend):
    """A table read sparsely and used densely: the gradient is dense, as torch's."""
    for order in ("one backward", "sparse first", "dense first"):
        grads = []
        for lib in (xpnn, torch):
            w = lib.tensor(np.arange(21.0).reshape(7, 3) / 10, requires_grad=True)
            ids = lib.tensor([1, 1, 4])
            sparse = lambda: lib.nn.functional.embedding(ids, w, sparse=True).pow(2).sum()
            dense = lambda: (w * 3).sum()
            if order == "one backward":
                (sparse() + dense()).backward()
            else:
                first, second = (sparse, dense) if order == "sparse first" else (dense, sparse)
                first().backward()
                second().backward()
            assert not w.grad.is_sparse, order
            grads.append(to_np(w.grad) if lib is xpnn else w.grad.numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=TOL32)


def test_max_norm_hooks_and_grad(backend):
    torch.manual_seed(0)
    te = torch.nn.Embedding(5, 3, sparse=True, max_norm=1.0)
    xe = xpnn.nn.Embedding(5, 3, sparse=True, max_norm=1.0)
    xe.load_state_dict({"weight": xpnn.tensor(te.weight.detach().numpy() * 2)})
    with torch.no_grad():
        te.weight.mul_(2)
    seen = {}
    xe.weight.register_hook(lambda g: seen.update(x=g.is_sparse))  # returns None
    te.weight.register_hook(lambda g: seen.update(t=g.is_sparse))
    xe(xpnn.tensor(IDS)).pow(2).sum().backward()
    te(torch.tensor(IDS)).pow(2).sum().backward()
    assert seen == {"x": True, "t": True}
    np.testing.assert_allclose(to_np(xe.weight), te.weight.detach().numpy(), rtol=TOL32,
                               atol=TOL32)
    same_grad(xe.weight.grad, te.weight.grad)
    # autograd.grad: xpnn returns the dense gradient (torch a sparse one of the same value)
    xw, tw = table("float32")
    xg, = xpnn.autograd.grad(xpnn.nn.functional.embedding(xpnn.tensor(IDS), xw,
                                                         sparse=True).sum(), xw)
    tg, = torch.autograd.grad(torch.nn.functional.embedding(torch.tensor(IDS), tw,
                                                           sparse=True).sum(), tw)
    np.testing.assert_allclose(to_np(xg), tg.to_dense().numpy())


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_sparse(backend, mode):
    torch.manual_seed(0)
    tb = torch.nn.EmbeddingBag(5, 3, mode=mode, sparse=True, padding_idx=2)
    xb = xpnn.nn.EmbeddingBag(5, 3, mode=mode, sparse=True, padding_idx=2)
    xb.load_state_dict({"weight": xpnn.tensor(tb.weight.detach().numpy())})
    xb(xpnn.tensor(IDS)).pow(2).sum().backward()
    tb(torch.tensor(IDS)).pow(2).sum().backward()
    same_grad(xb.weight.grad, tb.weight.grad)


def test_sparse_refusals(backend):
    w, _ = table("float32")
    ids = xpnn.tensor(IDS)
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        xpnn.nn.functional.embedding_bag(ids, w, mode="max", sparse=True)
    y = xpnn.nn.functional.embedding(ids, w, scale_grad_by_freq=True, sparse=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        y.sum().backward()
    for opt, msg in ((xpnn.optim.Adam([w]), "Adam does not support sparse gradients, please "
                      "consider SparseAdam instead"),
                     (xpnn.optim.AdamW([w]), "Adam does not support sparse gradients"),
                     (xpnn.optim.RMSprop([w]), "RMSprop does not support sparse gradients"),
                     (xpnn.optim.SGD([w], lr=0.1, weight_decay=0.1),
                      r"add\(sparse, dense\) is not supported"),
                     (xpnn.optim.Adagrad([w], weight_decay=0.1),
                      "weight_decay option is not compatible with sparse gradients")):
        w.grad = None
        xpnn.nn.functional.embedding(ids, w, sparse=True).sum().backward()
        with pytest.raises(RuntimeError, match=msg):
            opt.step()
    w.grad = None
    xpnn.nn.functional.embedding(ids, w).sum().backward()  # a dense grad
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, "
                       "please consider Adam instead"):
        xpnn.optim.SparseAdam([w]).step()
    for kw, msg in ((dict(lr=0), "Invalid learning rate: 0"),
                    (dict(eps=0.0), "Invalid epsilon value: 0.0"),
                    (dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
                    (dict(betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0.1")):
        with pytest.raises(ValueError, match=msg):
            xpnn.optim.SparseAdam([w], **kw)
        with pytest.raises(ValueError, match=msg):
            torch.optim.SparseAdam([torch.zeros(2, requires_grad=True)], **kw)


OPTIMIZERS = {
    "SparseAdam": lambda L, p: L.optim.SparseAdam(p, lr=0.05, betas=(0.8, 0.99)),
    "SparseAdam-max": lambda L, p: L.optim.SparseAdam(p, lr=0.05, maximize=True),
    "SGD": lambda L, p: L.optim.SGD(p, lr=0.1),
    "SGD-momentum": lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1),
    "SGD-nesterov": lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                             maximize=True),
    "Adagrad": lambda L, p: L.optim.Adagrad(p, lr=0.1, lr_decay=0.01,
                                            initial_accumulator_value=0.1),
}


def trajectory(lib, make, steps=5, state=None):
    """Weights after ``steps`` sparse-gradient steps from one table (float64)."""
    w = table()[0 if lib is xpnn else 1]
    opt = make(lib, [w])
    rs = np.random.default_rng(1)
    for _ in range(steps):
        ids = lib.tensor(rs.integers(0, 5, size=(4, 2)))  # rows 5, 6 are never read
        y = lib.nn.functional.embedding(ids, w, sparse=True)
        opt.zero_grad()
        ((y * y).sum() + y.sum()).backward()
        opt.step()
    return (to_np(w) if lib is xpnn else w.detach().numpy()), opt


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_sparse_optimizer_trajectories(backend, name):
    xw, xo = trajectory(xpnn, OPTIMIZERS[name])
    tw, to = trajectory(torch, OPTIMIZERS[name])
    np.testing.assert_allclose(xw, tw, rtol=TOL64, atol=TOL64)
    W0 = np.random.default_rng(0).standard_normal((7, 3))
    if not name.startswith("SGD-"):  # lazy: rows never read stay as they were
        np.testing.assert_array_equal(xw[5:], W0[5:])


def test_sparse_adam_state_dict(backend):
    """State saved after three steps and loaded into a new SparseAdam: the next steps match
    an uninterrupted run (and torch's)."""
    make = OPTIMIZERS["SparseAdam"]
    w, opt = trajectory(xpnn, make, steps=3)
    sd = opt.state_dict()
    st = sd["state"][0]
    assert st["step"] == 3 and set(st) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["param_groups"][0]["betas"] == (0.8, 0.99)
    p = xpnn.tensor(w, dtype=xpnn.float64, requires_grad=True)
    again = make(xpnn, [p])
    again.load_state_dict(sd)
    ids = xpnn.tensor([[0, 3], [3, 1]])
    y = xpnn.nn.functional.embedding(ids, p, sparse=True)
    (y * y).sum().backward()
    again.step()
    tw, topt = trajectory(torch, make, steps=3)
    tp = torch.tensor(tw, requires_grad=True)
    tnew = make(torch, [tp])
    tnew.load_state_dict(topt.state_dict())
    ty = torch.nn.functional.embedding(torch.tensor([[0, 3], [3, 1]]), tp, sparse=True)
    (ty * ty).sum().backward()
    tnew.step()
    np.testing.assert_allclose(to_np(p), tp.detach().numpy(), rtol=TOL64, atol=TOL64)


def test_clip_grad_norm_sparse(backend):
    """torch 2.13's CPU build refuses a sparse gradient here (no sparse vector_norm); xpnn
    takes the norm of the coalesced values, which is the dense gradient's."""
    xs, _ = table("float32")
    xd, _ = table("float32")
    for w, sparse in ((xs, True), (xd, False)):
        xpnn.nn.functional.embedding(xpnn.tensor(IDS), w, sparse=sparse).pow(2).sum().backward()
    ns = xpnn.nn.utils.clip_grad_norm_([xs], 0.5)
    nd = xpnn.nn.utils.clip_grad_norm_([xd], 0.5)
    np.testing.assert_allclose(to_np(ns), to_np(nd), rtol=TOL32)
    assert xs.grad.is_sparse
    np.testing.assert_allclose(to_np(xs.grad.to_dense()), to_np(xd.grad), rtol=TOL32,
                               atol=TOL32)


def test_gradcheck_float64(host_backend):
    w = xpnn.tensor(np.random.default_rng(2).standard_normal((5, 3)), dtype=xpnn.float64,
                    requires_grad=True)
    ids = xpnn.tensor(IDS)
    assert xpnn.gradcheck(lambda w: xpnn.nn.functional.embedding(ids, w, padding_idx=3,
                                                                 sparse=True) ** 2, w)


class _Recommender:
    """users x items -> rating: sparse user/item embeddings, an MLP on their product and
    concatenation; the same module tree in either library."""

    def __init__(self, lib, users=12, items=15, d=4):
        nn = lib.nn
        self.lib = lib
        self.user = nn.Embedding(users, d, sparse=True)
        self.item = nn.Embedding(items, d, sparse=True)
        self.mlp = nn.Sequential(nn.Linear(3 * d, 8), nn.ReLU(), nn.Linear(8, 1))

    def __call__(self, u, i):
        a, b = self.user(u), self.item(i)
        return self.mlp(self.lib.cat([a * b, a, b], 1)).squeeze(1)


def test_recommender_sparse_adam_plus_adam(backend):
    torch.manual_seed(0)
    tm, xm = _Recommender(torch), _Recommender(xpnn)
    for part in ("user", "item", "mlp"):
        sd = getattr(tm, part).state_dict()
        getattr(xm, part).load_state_dict({k: xpnn.tensor(v.numpy()) for k, v in sd.items()})
    rs = np.random.default_rng(3)
    losses = {}
    for lib, m in ((torch, tm), (xpnn, xm)):
        sparse = lib.optim.SparseAdam(list(m.user.parameters()) + list(m.item.parameters()),
                                      lr=0.05)
        dense = lib.optim.Adam(m.mlp.parameters(), lr=0.01)
        rs = np.random.default_rng(3)
        out = []
        for _ in range(8):
            u = lib.tensor(rs.integers(0, 12, size=16))
            i = lib.tensor(rs.integers(0, 15, size=16))
            r = lib.tensor(rs.uniform(1, 5, size=16).astype(np.float32))
            loss = lib.nn.functional.mse_loss(m(u, i), r)
            sparse.zero_grad()
            dense.zero_grad()
            loss.backward()
            assert m.user.weight.grad.is_sparse and not m.mlp[0].weight.grad.is_sparse
            sparse.step()
            dense.step()
            out.append(float(loss.item()))
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["xpnn"], losses["torch"], rtol=1e-4)
    assert losses["xpnn"][-1] < losses["xpnn"][0]


def test_hook_replaces_sparse_grad(backend):
    """A hook's sparse result replaces the gradient; a dense one is refused, as torch."""
    xw, tw = table("float32")
    for w, lib in ((xw, xpnn), (tw, torch)):
        w.register_hook(lambda g: g * 2)
        lib.nn.functional.embedding(lib.tensor(IDS), w, sparse=True).sum().backward()
    same_grad(xw.grad, tw.grad)
    for w, lib in ((xw, xpnn), (tw, torch)):
        w.register_hook(lambda g: g.to_dense())
        with pytest.raises(RuntimeError, match="has changed the type of value"):
            lib.nn.functional.embedding(lib.tensor(IDS), w, sparse=True).sum().backward()


def test_bag_offsets_and_anomaly_mode(backend):
    """1-D ids with offsets (an empty bag, include_last_offset, per-sample weights); and
    detect_anomaly checks a sparse gradient's values."""
    W0 = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    ids, offs = np.array([0, 2, 2, 5, 1, 3, 0]), np.array([0, 3, 3, 5, 7])
    psw = np.arange(7, dtype=np.float32)
    grads = []
    for lib in (xpnn, torch):
        w = lib.tensor(W0, requires_grad=True)
        y = lib.nn.functional.embedding_bag(lib.tensor(ids), w, lib.tensor(offs), mode="sum",
                                            sparse=True, include_last_offset=True,
                                            per_sample_weights=lib.tensor(psw))
        y.pow(2).sum().backward()
        grads.append(w.grad)
    same_grad(*grads)
    w = xpnn.tensor(W0, requires_grad=True)
    with xpnn.autograd.detect_anomaly():
        xpnn.nn.functional.embedding(xpnn.tensor(ids), w, sparse=True).sum().backward()
    assert w.grad.is_sparse and w.grad._nnz() == 7
