"""Sets, searching, counting (setops.py), the index updates of indexops.py in place, the
shape helpers of layout.py at their edges, cdist's gradient at zero distance and PyTorch's
dtype promotion: each against torch, on every backend. The differentiable ops are also in
the case table (cases.py), for the gradient checks."""
import numpy as np
import pytest
from conftest import needs_torch

import xpnn
import xpnn.functional as F

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")


def _same(out, ref):
    """Tensors (or tuples of them) equal to torch's in shape, dtype and value."""
    outs = out if isinstance(out, tuple) else (out,)
    refs = ref if isinstance(ref, tuple) else (ref,)
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert o.shape == tuple(r.shape)
        assert xpnn.backend.dtype_name(o.dtype) == str(r.dtype).split(".")[-1]
        np.testing.assert_allclose(o.numpy(), r.numpy(), rtol=1e-6, atol=1e-6)


def _pair(fn):
    """fn(xpnn) and fn(torch): the same call in both libraries."""
    return fn(xpnn), fn(torch)


SET_CALLS = {
    "unique": lambda L: L.unique(L.tensor([3., 1., NAN, 1., 2., 3., NAN]),
                                 return_inverse=True, return_counts=True),
    "unique:dim0": lambda L: L.unique(L.tensor([[1, 2], [1, 2], [0, 5], [0, 4]]), dim=0,
                                      return_inverse=True, return_counts=True),
    "unique:dim1": lambda L: L.tensor([[3, 1, 3], [0, 2, 0]]).unique(dim=-1,
                                                                      return_inverse=True),
    "unique:0d": lambda L: L.unique(L.tensor(5), return_inverse=True),
    "unique:bool": lambda L: L.unique(L.tensor([True, False, True]), return_counts=True),
    "unique:empty": lambda L: L.unique(L.tensor([], dtype=L.float32), return_inverse=True,
                                       return_counts=True),
    "unique:empty_dim": lambda L: L.unique(L.zeros(0, 3), dim=0, return_counts=True),
    "unique_consecutive": lambda L: L.unique_consecutive(
        L.tensor([1, 1, 2, 2, 1]), return_inverse=True, return_counts=True),
    "unique_consecutive:dim": lambda L: L.tensor([[1, 1], [1, 1], [2, 0]]).unique_consecutive(
        dim=0, return_counts=True),
    "bincount": lambda L: L.bincount(L.tensor([1, 1, 3])),
    "bincount:weights": lambda L: L.tensor([1, 1, 3]).bincount(L.tensor([.5, .25, 1.]), 6),
    "bincount:int_weights": lambda L: L.bincount(L.tensor([0, 2]), L.tensor([3, 4])),
    "bincount:empty": lambda L: L.bincount(L.tensor([], dtype=L.int64), minlength=3),
    "histc": lambda L: L.histc(L.tensor([1., 2., 1., NAN, 5., 0., 3.]), bins=4, min=0, max=3),
    "histc:auto": lambda L: L.tensor([1., 2., 1.]).histc(bins=5),
    "histc:point": lambda L: L.histc(L.tensor([1., 1.]), bins=4),
    "histc:float64": lambda L: L.histc(L.tensor([1., 2.], dtype=L.float64), 2, 0, 4),
    "histc:empty": lambda L: L.histc(L.tensor([], dtype=L.float32), bins=3),
    "searchsorted": lambda L: L.searchsorted(L.tensor([1., 2., 2., 3.]),
                                             L.tensor([[NAN, 2., 0.], [2.5, 3., 4.]])),
    "searchsorted:right": lambda L: L.searchsorted(L.tensor([1., 2., 2., 3.]),
                                                   L.tensor([[NAN, 2.], [2.5, 3.]]),
                                                   right=True),
    "searchsorted:rows": lambda L: L.searchsorted(L.tensor([[1., 2., 2.], [0., NAN, NAN]]),
                                                  L.tensor([[NAN, 2., 0.], [2.5, 3., 4.]])),
    "searchsorted:side": lambda L: L.searchsorted(L.tensor([[1., 2., 2.], [0., 1., 5.]]),
                                                  L.tensor([[2.], [1.]]), side="right"),
    "searchsorted:scalar": lambda L: L.searchsorted(L.tensor([1., 2., 3.]), 2.5),
    "searchsorted:sorter": lambda L: L.searchsorted(
        L.tensor([3., 1., 2.]), L.tensor([2.5, 1.]), sorter=L.tensor([1, 2, 0]), side="right"),
    "searchsorted:int32": lambda L: L.searchsorted(L.tensor([1, 2, 3]), L.tensor([1.5, 2.]),
                                                   out_int32=True),
    "searchsorted:empty": lambda L: L.searchsorted(L.tensor([], dtype=L.float32),
                                                   L.tensor([1., 2.])),
    "bucketize": lambda L: L.bucketize(L.tensor([[0.5, 2.], [2.5, 9.]]), L.tensor([1., 2., 3.])),
    "bucketize:right": lambda L: L.bucketize(L.tensor([1, 5, 3]), L.tensor([2, 3]),
                                             right=True),
    "isin": lambda L: L.isin(L.tensor([1., NAN, 2.]), L.tensor([NAN, 2.])),
    "isin:invert": lambda L: L.isin(L.tensor([[1, 2], [5, 2]]), 2, invert=True),
    "isin:empty": lambda L: L.isin(L.tensor([1, 2, 5]), L.tensor([], dtype=L.int64)),
    "isposinf": lambda L: L.isposinf(L.tensor([INF, -INF, 1., NAN])),
    "isneginf": lambda L: L.tensor([INF, -INF, 1., NAN]).isneginf(),
    "isneginf:int": lambda L: L.isneginf(L.tensor([1, -2])),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(SET_CALLS))
def test_set_search_and_count_ops_match_torch(name, backend):
    _same(*_pair(SET_CALLS[name]))


EDGE_CALLS = {
    "tensor_split:empty": lambda L: L.tensor_split(L.zeros(0, 2), 3),
    "tensor_split:clipped": lambda L: L.tensor_split(L.arange(7), [1, 5, 9, 2]),
    "tensor_split:tensor": lambda L: L.arange(7).tensor_split(L.tensor([2, -2])),
    "hsplit:1d": lambda L: L.hsplit(L.arange(6), 3),
    "combinations:r0": lambda L: L.combinations(L.tensor([1., 2.]), 0),
    "combinations:too_long": lambda L: L.combinations(L.tensor([1., 2.]), 3),
    "cartesian_prod:three": lambda L: L.cartesian_prod(L.tensor([1, 2]), L.tensor([3]),
                                                       L.tensor([5, 6])),
    "block_diag:promoted": lambda L: L.block_diag(L.tensor(1), L.tensor([2., 3.]),
                                                  L.tensor([[4, 5]], dtype=L.float64)),
    "block_diag:empty_block": lambda L: L.block_diag(L.zeros(0, 2), L.ones(1)),
    "tril_indices": lambda L: L.tril_indices(3, 4, 1),
    "triu_indices": lambda L: L.triu_indices(4, 3, -1),
    "triu_indices:empty": lambda L: L.triu_indices(0, 3),
    "rot90:k4": lambda L: L.rot90(L.arange(6).reshape(2, 3), 4),
    "index_add:0d": lambda L: L.index_add(L.tensor(1.), 0, L.tensor([0]), L.tensor(2.)),
    "index_add:empty": lambda L: L.index_add(L.ones(3), 0, L.tensor([], dtype=L.int64),
                                             L.ones(0)),
    "index_fill:int": lambda L: L.index_fill(L.arange(6).reshape(2, 3), 1, L.tensor([2]), 7),
    "masked_scatter:no_true": lambda L: L.masked_scatter(
        L.ones(3), L.tensor([False, False, False]), L.ones(0)),
    "take_along_dim:broadcast": lambda L: L.take_along_dim(
        L.arange(6.).reshape(2, 3), L.tensor([[2, 1]]), 1),
    "cdist:empty": lambda L: L.cdist(L.zeros(0, 3), L.ones(2, 3)),
    "pdist:one_row": lambda L: L.nn.functional.pdist(L.ones(1, 3)),
    # PyTorch's other overloads: sections= / indices= by name, a 0-d tensor index of select
    "tensor_split:sections_kw": lambda L: L.tensor_split(L.arange(12).reshape(3, 4),
                                                         sections=3, dim=1),
    "tensor_split:indices_kw": lambda L: L.arange(12).reshape(3, 4).tensor_split(
        indices=[1, 3], dim=-1),
    "hsplit:indices_kw": lambda L: L.arange(12).reshape(3, 4).hsplit(indices=(1,)),
    "vsplit:sections_kw": lambda L: L.vsplit(L.arange(12).reshape(4, 3), sections=2),
    "dsplit:indices_kw": lambda L: L.dsplit(L.arange(12).reshape(1, 2, 6), indices=[2, 3]),
    "select:tensor_index": lambda L: L.arange(6).reshape(2, 3).select(-1, L.tensor(-1)),
    # integers: alpha is cast to the dtype (truncated), as PyTorch
    "index_add:int_float_alpha": lambda L: L.index_add(L.arange(4), 0, L.tensor([1, 1]),
                                                       L.tensor([1, 2]), alpha=2.7),
    "allclose:int_bool": lambda L: L.tensor([L.allclose(L.tensor([1, 2]), L.tensor([1, 3])),
                                             L.allclose(L.tensor([5]), L.tensor([5])),
                                             L.allclose(L.tensor([True]), L.tensor([True])),
                                             L.tensor([1, 2]).isclose(L.tensor([1, 4])).all()]),
    "equal:mixed_dtypes": lambda L: L.tensor([L.equal(L.ones(2), L.ones(2, dtype=L.int64)),
                                              L.equal(L.ones(2), L.zeros(2, dtype=L.int64))]),
}
for _red in ("sum", "prod", "mean", "amax", "amin"):
    for _inc in (True, False):  # integer "mean" rounds down, as PyTorch
        EDGE_CALLS[f"scatter_reduce:int_{_red}_{_inc}"] = \
            lambda L, r=_red, i=_inc: L.scatter_reduce(
                L.tensor([1, 2, 3, 4]), 0, L.tensor([0, 1, 0, 1, 2, 1]),
                L.tensor([1, -2, 3, 4, 5, 6]), r, include_self=i)
    EDGE_CALLS[f"scatter_reduce:inf_nan_{_red}"] = lambda L, r=_red: L.scatter_reduce(
        L.tensor([1., 2., 3., 4.]), 0, L.tensor([0, 1, 0, 1, 2]),
        L.tensor([INF, -2., NAN, 0., -INF]), r)
    EDGE_CALLS[f"scatter_reduce:empty_{_red}"] = lambda L, r=_red: L.scatter_reduce(
        L.ones(3), 0, L.tensor([], dtype=L.int64), L.ones(0), r)


@needs_torch
@pytest.mark.parametrize("name", sorted(EDGE_CALLS))
def test_shape_and_index_edges_match_torch(name, backend):
    _same(*_pair(EDGE_CALLS[name]))


IN_PLACE = {
    "index_add_": lambda L, t, s: t.index_add_(1, L.tensor([2, 0, 2]), s, alpha=2),
    "index_copy_": lambda L, t, s: t.index_copy_(1, L.tensor([2, 0, 1]), s),
    "index_fill_": lambda L, t, s: t.index_fill_(1, L.tensor([1]), -3.0),
    "masked_scatter_": lambda L, t, s: t.masked_scatter_(t > 0, s),
    "scatter_reduce_": lambda L, t, s: t.scatter_reduce_(
        1, L.tensor([[0, 0, 1], [2, 2, 2]]), s, "amin", include_self=False),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_index_updates_match_torch(name, backend):
    """x.index_add_(...) and the others change x itself (version counter bumped); on a
    recorded tensor they are differentiable, as PyTorch's."""
    rng = np.random.default_rng(0)
    base, src = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    t, ts = xpnn.tensor(base), xpnn.tensor(src)
    r, rs = torch.tensor(base, dtype=torch.float32), torch.tensor(src, dtype=torch.float32)
    version = t._version if hasattr(t, "_version") else None
    assert IN_PLACE[name](xpnn, t, ts) is t
    IN_PLACE[name](torch, r, rs)
    _same(t, r)
    if version is not None:
        assert t._version > version
    # recorded: y = x * 1 changed in place carries gradients to x and to the source
    x, s = xpnn.tensor(base, requires_grad=True), xpnn.tensor(src, requires_grad=True)
    tx, tsrc = (torch.tensor(a, requires_grad=True) for a in (base, src))
    y, ty = x * 1, tx * 1
    IN_PLACE[name](xpnn, y, s)
    IN_PLACE[name](torch, ty, tsrc)
    w = rng.standard_normal((2, 3))
    (y * xpnn.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    if tsrc.grad is not None:
        np.testing.assert_allclose(s.grad.numpy(), tsrc.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_in_place_on_a_leaf_that_requires_grad_raises():
    x = xpnn.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="index_add_: a leaf Variable"):
        x.index_add_(0, xpnn.tensor([0]), xpnn.ones(1))


@needs_torch
@pytest.mark.parametrize("mm", ["donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"])
@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, INF])
def test_cdist_gradient_is_zero_at_zero_distance(p, mm, backend):
    """Rows equal in x1 and x2 (a distance of 0, where |d| has no derivative): the
    gradient is 0 there, as PyTorch's, and equal to torch's elsewhere."""
    if p != 2.0 and mm == "use_mm_for_euclid_dist":
        pytest.skip("the product path is for p = 2 only")
    a = np.array([[0., 1., 2.], [1., 1., 1.], [3., -1., 0.5]])
    b = np.array([[1., 1., 1.], [0., 1., 2.]])
    x1, x2 = xpnn.tensor(a, requires_grad=True), xpnn.tensor(b, requires_grad=True)
    t1, t2 = (torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in (a, b))
    out = xpnn.cdist(x1, x2, p, compute_mode=mm)
    ref = torch.cdist(t1, t2, p, compute_mode=mm)
    out.sum().backward()
    ref.sum().backward()
    assert xpnn.float32 == out.dtype
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-6)
    for g, tg in ((x1.grad, t1.grad), (x2.grad, t2.grad)):
        assert np.isfinite(g.numpy()).all()
        np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-5, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_shares_the_gradient_among_ties(reduce, backend):
    """Several entries equal to a target's max (or min) share its gradient evenly, the
    input's own entry among them when include_self, as PyTorch's backward does."""
    base, src, idx = [2., 0., 5.], [2., 2., 1., 5.], [0, 0, 1, 2]
    x, s = xpnn.tensor(base, requires_grad=True), xpnn.tensor(src, requires_grad=True)
    tx, ts = (torch.tensor(v, requires_grad=True) for v in (base, src))
    F.scatter_reduce(x, 0, xpnn.tensor(idx), s, reduce).sum().backward()
    torch.scatter_reduce(tx, 0, torch.tensor(idx), ts, reduce).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy())


def test_meshgrid_without_indexing_warns_as_torch_and_uses_ij():
    a, b = xpnn.tensor([1., 2., 3.]), xpnn.tensor([4., 5.])
    with pytest.warns(UserWarning, match="indexing"):
        gx, gy = xpnn.meshgrid(a, b)
    assert gx.shape == gy.shape == (3, 2)


BAD = [
    (lambda: xpnn.index_add(xpnn.zeros(3), 0, xpnn.tensor([0]),
                            xpnn.ones(1, dtype=xpnn.float64)), TypeError,
     "index_add: self \\(float32\\) and source \\(float64\\)"),
    (lambda: xpnn.index_copy(xpnn.zeros(3), 0, xpnn.tensor([0]), xpnn.ones(2)), ValueError,
     "index_copy: source of shape xpnn.Size\\(\\[2\\]\\)"),
    (lambda: xpnn.index_add(xpnn.zeros(3), 0, xpnn.tensor([3]), xpnn.ones(1)), IndexError,
     "index_add: index 3 is out of bounds for dim 0 with size 3"),
    (lambda: xpnn.index_fill(xpnn.zeros(3), 0, xpnn.tensor([0.]), 1.), TypeError,
     "index_fill: index must be an int64 or int32"),
    (lambda: xpnn.masked_scatter(xpnn.zeros(2, 3), xpnn.tensor([True, False, True]),
                                 xpnn.arange(3.)), RuntimeError,
     "masked_scatter: number of elements of source \\(3\\)"),
    (lambda: xpnn.scatter_reduce(xpnn.zeros(3), 0, xpnn.tensor([0]), xpnn.ones(1), "maximum"),
     ValueError, "scatter_reduce: reduce argument must be one of"),
    (lambda: xpnn.take_along_dim(xpnn.zeros(2, 3), xpnn.tensor([[0, 1, 3]]), 1), IndexError,
     "take_along_dim: index 3 is out of bounds for dim 1 with size 3"),
    (lambda: xpnn.bincount(xpnn.tensor([1, -1])), ValueError,
     "bincount: input must contain only non-negative values"),
    (lambda: xpnn.bincount(xpnn.tensor([1.])), ValueError, "bincount: input must be a 1-d "
     "integer tensor"),
    (lambda: xpnn.histc(xpnn.tensor([1, 2]), bins=3), TypeError, "histc: not implemented for "
     "int64"),
    (lambda: xpnn.histc(xpnn.tensor([1., INF])), RuntimeError, "histc: range of \\[1.0, inf\\]"),
    (lambda: xpnn.searchsorted(xpnn.tensor([1., 2.]), xpnn.tensor([1.]), right=True,
                               side="left"), ValueError, "searchsorted: side and right"),
    (lambda: xpnn.searchsorted(xpnn.tensor([[1., 2.]]), xpnn.tensor([[1.], [2.]])),
     ValueError, "searchsorted: boundaries of shape xpnn.Size\\(\\[1, 2\\]\\)"),
    (lambda: xpnn.bucketize(xpnn.tensor([1.]), xpnn.tensor([[1.]])), ValueError,
     "bucketize: boundaries must be a 1-d tensor"),
    (lambda: xpnn.cdist(xpnn.zeros(2, 3), xpnn.zeros(2, 4)), ValueError,
     "cdist: X1 and X2 must have the same number of columns. X1: 3 X2: 4"),
    (lambda: xpnn.cdist(xpnn.zeros(2, 3), xpnn.zeros(2, 3), -1.), ValueError,
     "cdist: only supports non-negative p values"),
    (lambda: F.pdist(xpnn.zeros(2, 3, 1)), ValueError, "pdist: only supports 2D tensors"),
    (lambda: xpnn.hsplit(xpnn.arange(7), 3), RuntimeError, "hsplit attempted to split along "
     "dimension 0, but the size of the dimension 7 is not divisible by the split_size 3"),
    (lambda: xpnn.vsplit(xpnn.arange(7), 7), ValueError, "vsplit requires a tensor with at "
     "least 2 dimension"),
    (lambda: xpnn.tensor_split(xpnn.arange(7), 0), ValueError, "tensor_split: number of "
     "sections must be larger than 0"),
    (lambda: xpnn.rot90(xpnn.zeros(2, 2), 1, (0, 0)), ValueError, "rot90: expected rotation "
     "dims to be different"),
    (lambda: xpnn.select(xpnn.zeros(2, 3), 1, 3), IndexError, "select: index 3 out of range"),
    (lambda: xpnn.meshgrid(xpnn.zeros(2, 2), indexing="ij"), ValueError, "meshgrid: expects "
     "0-d or 1-d tensors"),
    (lambda: xpnn.meshgrid(xpnn.zeros(2), indexing="yx"), ValueError, "meshgrid: indexing "
     "must be 'ij' or 'xy'"),
    (lambda: xpnn.block_diag(xpnn.zeros(1, 1, 1)), ValueError, "block_diag: input tensors must "
     "have 2 or fewer dimensions. Input 0 has 3"),
    (lambda: xpnn.combinations(xpnn.zeros(2, 2)), ValueError, "combinations: expect a 1D "
     "vector"),
    (lambda: xpnn.promote_types("uint16", xpnn.int16), TypeError, "promote_types: "
     "promotion for uint16"),
    (lambda: xpnn.tril_indices(-1, 3), ValueError, "tril_indices: row and col must be "
     "non-negative"),
    (lambda: xpnn.unique(xpnn.zeros(3, 0), dim=0), RuntimeError, "unique: there are 0 sized "
     "dimensions, and they aren't selected"),
    (lambda: xpnn.unique_consecutive(xpnn.zeros(2, 0, 2), dim=-1), RuntimeError,
     "unique_consecutive: there are 0 sized dimensions"),
    (lambda: xpnn.tensor_split(xpnn.arange(7), 2, sections=2), TypeError, "tensor_split: "
     "expected exactly one of indices_or_sections, sections= or indices=, got 2"),
    (lambda: xpnn.hsplit(xpnn.arange(7)), TypeError, "hsplit: expected exactly one of"),
    (lambda: xpnn.select(xpnn.zeros(2, 3), 0, xpnn.tensor(1.)), TypeError, "select: index "
     "must be an int, got Tensor"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input_names_the_function(i):
    fn, error, message = BAD[i]
    with pytest.raises(error, match=message):
        fn()


@needs_torch
def test_dtype_promotion_matches_torch():
    dts = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
           "float32", "float64"]
    for a in dts:
        for b in dts:
            ta, tb = getattr(torch, a), getattr(torch, b)
            assert xpnn.promote_types(a, getattr(xpnn, b)) == str(
                torch.promote_types(ta, tb)).split(".")[-1], (a, b)
            assert xpnn.can_cast(ta, b) == torch.can_cast(ta, tb), (a, b)
    values = {"bool": [True], "int32": [1], "int64": [2], "float16": [1.], "float64": [1.]}
    operands = [(xpnn.tensor(v, dtype=getattr(xpnn, d)), torch.tensor(v, dtype=getattr(torch, d)))
                for d, v in values.items()]
    operands += [(xpnn.tensor(v[0], dtype=getattr(xpnn, d)),
                  torch.tensor(v[0], dtype=getattr(torch, d))) for d, v in values.items()]
    operands += [(n, n) for n in (True, 3, 2.5)]
    for x1, t1 in operands:
        for x2, t2 in operands:
            if isinstance(x1, (bool, int, float)) and isinstance(x2, (bool, int, float)):
                continue  # torch.result_type wants a tensor; two numbers are not an op here
            got = xpnn.result_type(x1, x2)
            assert isinstance(got, xpnn.DType)
            assert got == str(torch.result_type(t1, t2)).split(".")[-1], (t1, t2)
