"""clamp (clip) and lerp, as ``torch.clamp`` and ``torch.lerp`` (re-exported by
:mod:`.elementwise`): clamp by numbers is one :class:`Clip`; by tensors it is where-selects
with PyTorch's gradient split and NaN bounds; lerp follows PyTorch's two formulas bit for
bit.
"""
from __future__ import annotations

from .. import backend as B
from ..autograd import Function, TensorBase, as_tensor
from .._errors import ArgumentError, DtypeNotImplemented
from .complex_base import refuse_complex
from .broadcast import _floating, promote, quiet, unbroadcast, unbroadcast_graph
from .compare import Compare, where
from .transfer import to


class Clip(Function):
    saved_inputs = ()

    def forward(self, X, lo=None, hi=None):
        xp = self.xp
        if self.record:
            inside = xp.ones(X.shape, dtype=xp.bool, device=X.device)
            if lo is not None:
                inside = inside & (X >= lo)
            if hi is not None:
                inside = inside & (X <= hi)
            self.inside = inside
        if lo is not None and hi is not None and lo > hi:  # PyTorch: hi everywhere (the Array
            lo = hi  # API leaves it unspecified; array-api-strict raises)
        return xp.clip(X, lo, hi)

    def backward(self, dY):
        return dY * self.xp.astype(self.inside, dY.dtype)

    def backward_graph(self, dY):
        return where(self.inside, dY, 0.0)


@quiet
class Lerp(Function):
    """A + W (E - A) by PyTorch's two formulas: A + W D where |W| < 0.5, else E - D (1 - W)
    (so W = 1 gives E exactly), D = E - A. Each product and sum is taken in float64 and
    rounded once, as PyTorch's fused multiply-add rounds float32 and float16: the same
    values bit for bit."""

    def forward(self, A, E, W):
        xp = self.xp
        self.shapes = (A.shape, E.shape, W.shape)
        D = E - A
        wide = [xp.astype(v, xp.float64) for v in (A, E, D, W)]
        Aw, Ew, Dw, Ww = wide
        Y = xp.where(xp.abs(Ww) < 0.5, Aw + Ww * Dw, Ew - Dw * (1 - Ww))
        self.D, self.W = D, W
        self.saved_inputs = (2,) if self.needs[0] or self.needs[1] else ()
        return xp.astype(Y, A.dtype)

    def backward(self, dY):
        xp, (sa, se, sw), W = self.xp, self.shapes, self.W
        dA = unbroadcast(xp, dY * (1 - W), sa) if self.needs[0] else None
        dE = unbroadcast(xp, dY * W, se) if self.needs[1] else None
        dW = unbroadcast(xp, dY * self.D, sw) if self.needs[2] else None
        return dA, dE, dW

    def backward_graph(self, dY):
        (sa, se, sw), (A, E, W) = self.shapes, self.inputs
        dA = unbroadcast_graph(dY * (1 - W), sa) if self.needs[0] else None
        dE = unbroadcast_graph(dY * W, se) if self.needs[1] else None
        dW = unbroadcast_graph(dY * (E - A), sw) if self.needs[2] else None
        return dA, dE, dW


def lerp(input, end, weight):
    """input + weight * (end - input), as ``torch.lerp`` (``weight`` a number or a tensor;
    differentiable in each tensor), by PyTorch's formulas, so its float values are PyTorch's
    bit for bit (``lerp(a, b, 1)`` is ``b``)."""
    a, e = promote(input, end, "lerp")
    if not a._be.is_floating(a.dtype):
        raise DtypeNotImplemented(f"lerp: expected floating tensors, got "
                                  f"{B.dtype_name(a.dtype)}")
    w = weight if isinstance(weight, TensorBase) else as_tensor(weight, like=a, op="lerp")
    w = w if w.dtype == a.dtype else to(w, dtype=a.dtype)
    return Lerp.apply(a, e, w)


def _less(a, b):
    """The bool array ``a < b`` of two tensors (promoted and broadcast; no gradient, but a
    recorded op, so an ONNX export sees it)."""
    a, b = promote(a, b, "clamp")
    return Compare.apply(a, b, op="lt").array


def clamp(input, min=None, max=None):
    """Clamp to [min, max]; the gradient is zero where the input was clamped. ``min`` and
    ``max`` may be numbers or tensors."""
    x = as_tensor(input, op="clamp")
    refuse_complex("clamp", x)
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    if isinstance(min, TensorBase) or isinstance(max, TensorBase) or B.is_array(min) or \
            B.is_array(max):
        # PyTorch's gradient: to x where min <= x <= max (a tie is x's), to a bound where
        # it wins (maximum/minimum split ties in half)
        nan_bound = None
        refuse_complex("clamp", *(b for b in (min, max) if isinstance(b, TensorBase)))
        if min is not None:
            lo = as_tensor(min, like=x, op="clamp")
            x = where(_less(x, lo), lo, x)
            nan_bound = Compare.apply(lo, lo, op="ne").array
        if max is not None:
            hi = as_tensor(max, like=x, op="clamp")
            x = where(_less(hi, x), hi, x)
            nan_hi = Compare.apply(hi, hi, op="ne").array
            nan_bound = nan_hi if nan_bound is None else nan_bound | nan_hi
        # a NaN bound gives NaN, with no gradient to any of the three (PyTorch)
        return where(nan_bound, float("nan"), x) if x._be.is_floating(x.dtype) else x
    if isinstance(min, float) or isinstance(max, float):
        x = _floating(x)
    elif x.dtype == x.xp.bool and not isinstance(min, bool) and not isinstance(max, bool):
        x = to(x, dtype="int64")  # bool by an int: int64, as PyTorch (the standard: no bool clip)
    elif x.dtype != x.xp.bool and not x._be.is_inexact(x.dtype):
        min, max = _int_bounds(x, min, max)
    return Clip.apply(x, lo=min, hi=max)


def _int_bounds(x, *bounds):
    """The bounds as x's integer dtype reads them, as PyTorch: one outside its range raises
    (int8 and clamp(max=1000)) rather than wrap, an unsigned type also takes ints down to
    -max, wrapped (uint8: -5 is 251)."""
    info = B.iinfo(B.dtype_name(x.dtype))
    lo = -int(info.max) if info.min == 0 else int(info.min)
    out = []
    for v in bounds:
        if isinstance(v, (int, B.np.integer)) and not isinstance(v, bool):
            v = int(v)
            if not lo <= v <= info.max:
                raise RuntimeError(f"clamp: value {v} cannot be converted to type "
                                   f"{B.dtype_name(x.dtype)} without overflow (it takes "
                                   f"[{lo}, {info.max}])")
            v = v + int(info.max) + 1 if v < 0 and info.min == 0 else v
        out.append(v)
    return out


clip = clamp
