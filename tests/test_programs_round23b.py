"""Checks found while writing the round-23b tutorial programs (tests/pytorch_programs/
tutorials/poincare_embeddings.py, relation_network.py, attention_mil.py,
fixmatch_semisupervised.py, quantile_dqn.py).

* The Poincare program's hand-written Riemannian SGD on an ``nn.Embedding(sparse=True)``
  (as the paper's reference code keeps it) scales the sparse gradient by a dense column,
  ``lr * ((1 - |x|^2) ** 2 / 4) * weight.grad``, and subtracts it, ``weight.sub_(...)``.
  xpnn's sparse COO tensor multiplied by numbers and 0-d tensors only
  (NotImplementedError), and a dense Tensor refused a sparse operand in ``+``, ``-``, ``*``
  and the in-place ``add_``/``sub_``/``mul_`` (TypeError from as_tensor). PyTorch's rules
  are now xpnn's (the new xpnn/_sparse_dense.py, used by _sparse_coo.py's
  ``SparseTensor.mul``, by functional/elementwise.py's add/sub/mul, which the operators and
  ``torch.add(d, s)``, ``d.mul(s)`` reach, and by tensor_inplace.py): sparse * dense
  and dense * sparse are sparse, with the sparse operand's indices and its values times the
  dense tensor (broadcast to the sparse size) read at them; dense +/- sparse and the
  in-place forms are dense; sparse + dense stays refused. Differentiable in the values and
  in the dense operand (indexing, mul and index_add); PyTorch hands the dense operand a
  sparse ``.grad`` there, xpnn a dense one of the same values.

The relation-network, attention-MIL, FixMatch and QR-DQN programs ran on xpnn as written.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpnn  # noqa: E402

from conftest import to_np  # noqa: E402
from xpnn.backend import dtype_name  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's notice

# an uncoalesced 4x3 sparse matrix (position (2, 1) twice) and a hybrid one (3 sparse rows
# of 2-vectors)
IDX = np.array([[0, 2, 2, 3, 2], [1, 0, 1, 2, 1]], dtype=np.int64)
VALS = np.array([1.5, -2.0, 0.5, 3.0, 0.25])
HYB_IDX = np.array([[0, 3, 1]], dtype=np.int64)
HYB_VALS = np.array([[1.0, -1.0], [2.0, 0.5], [-3.0, 4.0]])


def pair(lib, idx, vals, size, dtype="float64", requires_grad=False):
    values = lib.tensor(vals, dtype=getattr(lib, dtype), requires_grad=requires_grad)
    return lib.sparse_coo_tensor(lib.tensor(idx), values, size), values


def dense(lib, a, dtype="float64", requires_grad=False):
    return lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=requires_grad)


OTHERS = {  # dense operands of sparse * dense: same shape, a column, a row, a 0-d tensor
    "same": np.arange(12.0).reshape(4, 3) - 5.0,
    "column": np.array([[2.0], [-1.0], [0.5], [3.0]]),
    "row": np.array([1.0, -2.0, 4.0]),
    "scalar": np.array(2.5),
}


@pytest.mark.parametrize("kind", list(OTHERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_times_dense_as_pytorch(backend, kind, dtype):
    """sparse * dense and dense * sparse: a sparse result with the sparse operand's indices
    (uncoalesced stays uncoalesced), values times the dense tensor at them, PyTorch's
    values and dtype."""
    s, _ = pair(xpnn, IDX, VALS, (4, 3), dtype)
    ts, _ = pair(torch, IDX, VALS, (4, 3), dtype)
    d, td = dense(xpnn, OTHERS[kind], dtype), dense(torch, OTHERS[kind], dtype)
    for got, want in ((s * d, ts * td), (d * s, td * ts), (s.mul(d), ts.mul(td))):
        assert got.is_sparse and want.is_sparse
        assert got.is_coalesced() == want.is_coalesced()
        assert dtype_name(got.dtype) == dtype and tuple(got.shape) == (4, 3)
        np.testing.assert_array_equal(to_np(got._indices()), want._indices().numpy())
        np.testing.assert_allclose(to_np(got._values()), want._values().numpy(), rtol=1e-6)
        np.testing.assert_allclose(to_np(got.to_dense()), want.to_dense().numpy(), rtol=1e-6)


def test_hybrid_sparse_times_dense_as_pytorch(backend):
    """A hybrid tensor (sparse rows of dense 2-vectors) times a dense (5, 2) and a (5, 1):
    each stored row times the dense row at its index."""
    s, _ = pair(xpnn, HYB_IDX, HYB_VALS, (5, 2))
    ts, _ = pair(torch, HYB_IDX, HYB_VALS, (5, 2))
    for a in (np.arange(10.0).reshape(5, 2), np.arange(5.0).reshape(5, 1) - 2):
        got, want = s * dense(xpnn, a), ts * dense(torch, a)
        assert got.is_sparse and got.dense_dim() == want.dense_dim() == 1
        np.testing.assert_allclose(to_np(got.to_dense()), want.to_dense().numpy(), rtol=1e-12)


def test_dense_plus_minus_sparse_as_pytorch(backend):
    """dense + sparse, dense - sparse, and add_(alpha=), sub_, mul_, += in place: dense
    results (duplicates summed); sparse + dense stays refused, as PyTorch refuses it."""
    s, _ = pair(xpnn, IDX, VALS, (4, 3))
    ts, _ = pair(torch, IDX, VALS, (4, 3))
    a = np.arange(12.0).reshape(4, 3)
    cases = [
        lambda lib, d, sp: d + sp,
        lambda lib, d, sp: d - sp,
        lambda lib, d, sp: d.clone().add_(sp, alpha=-0.5),
        lambda lib, d, sp: d.clone().sub_(sp),
        lambda lib, d, sp: d.clone().mul_(sp),
        lambda lib, d, sp: d.clone().sub_(0.1 * (d[:, :1] * sp)),  # the program's step
    ]
    for case in cases:
        got, want = case(xpnn, dense(xpnn, a), s), case(torch, dense(torch, a), ts)
        assert not got.is_sparse and not want.is_sparse
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-12)
    d = dense(xpnn, a)
    d += s
    np.testing.assert_allclose(to_np(d), a + ts.to_dense().numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError):
        s + dense(xpnn, a)
    # the function and method spellings (F.add/sub/mul take a sparse second operand)
    spelled = [
        lambda lib, d, sp: lib.add(d, sp),
        lambda lib, d, sp: lib.add(d, sp, alpha=2.0),
        lambda lib, d, sp: d.add(sp),
        lambda lib, d, sp: lib.sub(d, sp),
        lambda lib, d, sp: d.sub(sp, alpha=0.5),
    ]
    for case in spelled:
        got, want = case(xpnn, dense(xpnn, a), s), case(torch, dense(torch, a), ts)
        assert not got.is_sparse and not want.is_sparse
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-12)
    for case in (lambda lib, d, sp: lib.mul(d, sp), lambda lib, d, sp: d.mul(sp)):
        got, want = case(xpnn, dense(xpnn, a), s), case(torch, dense(torch, a), ts)
        assert got.is_sparse and want.is_sparse
        np.testing.assert_allclose(to_np(got.to_dense()), want.to_dense().numpy(),
                                   rtol=1e-12)
    with pytest.raises(RuntimeError):
        ts + dense(torch, a)


def test_sparse_times_dense_refusals(backend):
    """A dense operand that would broadcast the sparse tensor larger, and sparse * sparse,
    are refused with what was met."""
    s, _ = pair(xpnn, IDX, VALS, (4, 3))
    with pytest.raises(RuntimeError, match=r"size \[4, 3\] times a dense one of shape "
                                           r"\[2, 4, 3\]"):
        s * xpnn.ones(2, 4, 3, dtype=xpnn.float64)
    with pytest.raises(NotImplementedError, match="number or a dense tensor"):
        s * s


def test_sparse_times_dense_gradcheck(host_backend):
    """Float64 finite differences through the values of the sparse operand and the dense
    operand (a column broadcast over the rows), into a dense sum of the product."""
    idx = xpnn.tensor(IDX)

    def f(values, col):
        s = xpnn.sparse_coo_tensor(idx, values, (4, 3))
        return (s * col).to_dense() * xpnn.tensor(np.arange(12.0).reshape(4, 3) - 4.0)

    values = dense(xpnn, VALS, requires_grad=True)
    col = dense(xpnn, OTHERS["column"], requires_grad=True)
    assert xpnn.autograd.gradcheck(f, (values, col), eps=1e-6, atol=1e-8)

    def g(values, other):
        s = xpnn.sparse_coo_tensor(idx, values, (4, 3))
        return other - 0.5 * (other[:, :1] * s)

    other = dense(xpnn, np.arange(12.0).reshape(4, 3) / 7, requires_grad=True)
    assert xpnn.autograd.gradcheck(g, (values, other), eps=1e-6, atol=1e-8)


def test_sparse_times_dense_gradients_as_pytorch(backend):
    """The gradients of the values and of the dense operand equal torch's (whose gradient
    of a dense operand of a sparse product is itself sparse: compared densely; xpnn's is a
    dense Tensor, as the operand is)."""
    grads = []
    for lib in (xpnn, torch):
        s, values = pair(lib, IDX, VALS, (4, 3), requires_grad=True)
        col = dense(lib, OTHERS["column"], requires_grad=True)
        w = dense(lib, np.arange(12.0).reshape(4, 3) - 4.0)
        ((col * s).to_dense() * w).sum().backward()
        grads.append((values.grad, col.grad))
    (xv, xc), (tv, tc) = grads
    np.testing.assert_allclose(to_np(xv), tv.numpy(), rtol=1e-12)
    tc = tc.to_dense() if tc.is_sparse else tc
    assert not xc.is_sparse and tuple(xc.shape) == tuple(tc.shape) == (4, 1)
    np.testing.assert_allclose(to_np(xc), tc.numpy(), rtol=1e-12)


def test_riemannian_sgd_on_a_sparse_embedding_as_pytorch(backend):
    """The Poincare program's step on an Embedding(sparse=True): sparse gradient times a
    dense (1 - |x|^2)^2 / 4 column, sub_ into the weight, renorm into the ball, three
    steps from the same table, equal to torch's."""
    W0 = np.random.default_rng(23).uniform(-0.3, 0.3, (6, 2))
    ids = np.array([[0, 3, 3], [5, 1, 0]])
    out = []
    for lib in (xpnn, torch):
        emb = lib.nn.Embedding(6, 2, sparse=True, dtype=lib.float64)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(W0, dtype=lib.float64))
        for _ in range(3):
            emb(lib.tensor(ids)).pow(3).sum().backward()
            assert emb.weight.grad.is_sparse
            with lib.no_grad():
                sq = (emb.weight ** 2).sum(-1, keepdim=True)
                emb.weight.sub_(0.5 * ((1 - sq) ** 2 / 4) * emb.weight.grad)
                emb.weight.copy_(lib.renorm(emb.weight, 2, 0, 1 - 1e-5))
                emb.weight.grad.zero_()
        out.append(emb.weight.detach())
    np.testing.assert_allclose(to_np(out[0]), out[1].numpy(), rtol=1e-12)
