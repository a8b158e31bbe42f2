"""Comparisons, predicates and selection: the bool-valued ops (lt, le, gt, ge, eq, ne,
logical_and/or/xor/not, isnan, isinf, isfinite: no gradient, but recorded, so an ONNX export
sees them), ``where`` (differentiable in both branches), ``masked_fill``, and ``nonzero``/
``argwhere``."""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor, raw
from .._errors import DtypeError, ShapeError
from .complex_base import refuse_complex
from .broadcast import (_broadcastable, _cast, is_sparse_coo, promote, unbroadcast,
                        unbroadcast_graph)


class Where(Function):
    saved_inputs = ()

    def forward(self, A, B, cond=None):
        self.cond, self.shapes = cond, (A.shape, B.shape)
        return self.xp.where(cond, A, B)

    def backward(self, dY):
        xp, zero = self.xp, self.xp.zeros((), dtype=dY.dtype, device=dY.device)
        sa, sb = self.shapes
        dA = unbroadcast(xp, xp.where(self.cond, dY, zero), sa) if self.needs[0] else None
        dB = unbroadcast(xp, xp.where(self.cond, zero, dY), sb) if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        sa, sb = self.shapes
        dA = unbroadcast_graph(where(self.cond, dY, 0.0), sa) if self.needs[0] else None
        dB = unbroadcast_graph(where(self.cond, 0.0, dY), sb) if self.needs[1] else None
        return dA, dB


def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero (True) entries, row-major: an (n, ndim) int64 tensor, or
    with ``as_tuple`` one 1-D int64 tensor per dim, as ``torch.nonzero`` (data-dependent
    sizes: one host sync on a device). No gradient."""
    x = as_tensor(input, op="nonzero")
    xp, be = x.xp, x._be
    arr = x.array if x.ndim else xp.reshape(x.array, (1,))
    idx = [xp.astype(i, xp.int64) for i in xp.nonzero(arr)]
    if as_tuple:  # a 0-d input as a 1-D one (PyTorch)
        return tuple(x._result(i, be) for i in idx)
    if x.ndim == 0:  # (1 or 0 rows, no columns)
        return x._result(xp.zeros((idx[0].shape[0], 0), dtype=xp.int64, device=be.device), be)
    return x._result(xp.stack(idx, axis=1), be)


def argwhere(input):
    """``nonzero(input)``: the (n, ndim) indices of the nonzero entries."""
    return nonzero(input)


def where(condition, input=None, other=None):
    """Elementwise ``condition ? input : other``; differentiable in input and other. With
    the condition alone, ``nonzero(condition, as_tuple=True)`` (PyTorch's one-argument
    form)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(input, TensorBase) and not isinstance(other, TensorBase) and \
            isinstance(condition, TensorBase):  # two numbers: a new tensor, as PyTorch
        floating = isinstance(input, float) or isinstance(other, float)
        xp, be = condition.xp, condition._be
        dt = be.dtype(B.get_default_dtype()) if floating else \
            xp.bool if isinstance(input, bool) and isinstance(other, bool) else xp.int64
        input = condition._result(xp.asarray(input, dtype=dt, device=be.device), be)
    like = input if isinstance(input, TensorBase) else other
    if not isinstance(like, TensorBase):
        raise TypeError("where: input or other must be a Tensor")
    cond = raw(condition, like, "where", "condition")
    if cond.dtype != like.xp.bool:
        raise DtypeError(f"where: condition must be bool, got {B.dtype_name(cond.dtype)}")
    a, b = promote(input, other, "where")
    for sx, sy in ((tuple(cond.shape), a.shape), (tuple(cond.shape), b.shape),
                   (a.shape, b.shape)):  # torch's RuntimeError, not NumPy's ValueError
        _broadcastable("where", tuple(sx), tuple(sy))
    return Where.apply(a, b, cond=cond)


# -- comparisons and predicates (no gradient) ------------------------------------------------
class Compare(Function):
    """A bool result of two inputs (``op``: lt, le, gt, ge, eq, ne, and, or, xor)."""

    differentiable = False
    OPS = {"lt": lambda A, B: A < B, "le": lambda A, B: A <= B, "gt": lambda A, B: A > B,
           "ge": lambda A, B: A >= B, "eq": lambda A, B: A == B, "ne": lambda A, B: A != B,
           "and": lambda A, B: A & B, "or": lambda A, B: A | B, "xor": lambda A, B: A ^ B}

    def forward(self, A, B, op=None):
        if op in ("and", "or", "xor"):  # on truth values: numbers count as x != 0
            A, B = (X if X.dtype == self.xp.bool else X != 0 for X in (A, B))
        elif op in ("lt", "le", "gt", "ge") and A.dtype == self.xp.bool:
            # the standard orders numbers only: False < True as 0 < 1 (PyTorch)
            A, B = (self.xp.astype(X, self.xp.uint8) for X in (A, B))
        return Compare.OPS[op](A, B)


class Predicate(Function):
    """A bool result of one input (``op``: isnan, isinf, isfinite, not)."""

    differentiable = False

    def forward(self, X, op=None):
        if op == "not":
            return ~X if X.dtype == self.xp.bool else X == 0
        if X.dtype == self.xp.bool:  # every bool is finite (the standard takes numbers only)
            return self.xp.full(X.shape, op == "isfinite", dtype=X.dtype, device=X.device)
        return getattr(self.xp, op)(X)


def _compare(name, op):
    def cmp(input, other):
        a, b = promote(input, other, name)
        if op in ("lt", "le", "gt", "ge"):  # complex numbers have no order
            refuse_complex(name, a, b)
        return Compare.apply(a, b, op=op)
    cmp.__name__ = cmp.__qualname__ = name
    cmp.__doc__ = f"Elementwise {name}, a bool Tensor (no gradient)."
    return cmp


lt = less = _compare("lt", "lt")
le = less_equal = _compare("le", "le")
gt = greater = _compare("gt", "gt")
ge = greater_equal = _compare("ge", "ge")
eq = _compare("eq", "eq")
ne = not_equal = _compare("ne", "ne")
logical_and = _compare("logical_and", "and")
logical_or = _compare("logical_or", "or")
logical_xor = _compare("logical_xor", "xor")


def _predicate(name):
    def pred(input):
        if is_sparse_coo(input):  # sparse COO
            return input._sparse_unary(name)
        return Predicate.apply(as_tensor(input, op=name), op=name)
    pred.__name__ = pred.__qualname__ = name
    return pred


isnan, isinf, isfinite = (_predicate(n) for n in ("isnan", "isinf", "isfinite"))


def logical_not(input):
    return Predicate.apply(as_tensor(input, op="logical_not"), op="not")


def masked_fill(input, mask, value):
    """``input`` with ``value`` where the bool ``mask`` (broadcast) is True; the gradient
    flows to input elsewhere (and to ``value`` if it is a tensor)."""
    x = as_tensor(input, op="masked_fill")
    v = value if isinstance(value, TensorBase) else as_tensor(value, like=x, op="masked_fill")
    if v.ndim:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{v.shape}")
    if v.dtype != x.dtype:  # the input's dtype is kept (2.7 into int64 is 2), as PyTorch
        v = _cast(v, x.dtype)
    return where(mask, v, x)
