"""Comparing traces (re-exported by :mod:`.trace`): sizes that follow a dynamic axis are
found by tracing again with that axis one longer, or one shorter where the model refuses
longer (:func:`merge`): an int that changes becomes
a :class:`Dyn`, an expression ``k * prod(symbols) + c`` in the dynamic sizes. The inputs of
every extra trace are rolled by one along each axis and rescaled (:func:`varied_inputs`), so a
value the forward computed outside xpnn's ops shows up as a constant that changed.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend as B

class Dyn(int):
    """An int that follows dynamic axes: ``k * prod(symbol sizes) + c``; its int value is the
    one of the first trace."""

    def __new__(cls, value, k, syms, c):
        obj = int.__new__(cls, value)
        obj.k, obj.syms, obj.c = k, tuple(syms), c
        return obj

    @property
    def expr(self):
        return self.k, self.syms, self.c

    def describe(self):
        term = "*".join(([str(self.k)] if self.k != 1 else []) + list(self.syms))
        return term + (f"{self.c:+d}" if self.c else "")


class Mismatch(Exception):
    """Two traces disagree about a value (reported by the caller with its context)."""


class Sizes:
    """The dynamic sizes: their values in the first trace and in each extra trace (one
    extra trace per symbol, growing that symbol only; a single extra trace without symbols
    when nothing is dynamic)."""

    def __init__(self, base, varied, checks=()):
        self.base = base      # {symbol: size in trace A}
        self.varied = varied  # per extra trace: (symbol or None, its size there)
        self.checks = list(checks)  # after those: {symbol: size} of each check trace

    def without_checks(self):
        return Sizes(self.base, self.varied)

    def fit(self, a, bs):
        """``a`` (trace A) and ``bs`` (the extra traces, the check traces last) as a Dyn,
        or Mismatch: a size fitted on the one-longer traces must also predict the check
        traces (every axis longer at once, the inputs negated), so a size that is not
        linear in the axes (``T // 2``) is refused instead of written wrong."""
        n = len(self.varied)
        fitted = self._fit(a, bs[:n])
        for b, at in zip(bs[n:], self.checks):
            want = fitted if not isinstance(fitted, Dyn) else \
                fitted.k * math.prod(at[s] for s in fitted.syms) + fitted.c
            if b != want:
                how = f"{fitted.describe()} = {want}" if isinstance(fitted, Dyn) else \
                    f"{a}, as it stayed when each axis changed by one"
                raise Mismatch(f"{a} becomes {b} when the dynamic axes are {at} (expected "
                               f"{how}): a size that does not follow k * (product of dynamic "
                               "sizes) + c, such as T // 2 or a strided length, or a value "
                               "that depends on the inputs")
        return fitted

    def _fit(self, a, bs):
        if all(b == a for b in bs):
            return a
        deps = [i for i, b in enumerate(bs) if b != a]
        syms = [self.varied[i][0] for i in deps]
        if None in syms:
            raise Mismatch(f"{a} changed to {bs[deps[0]]} when only the input values changed")
        base = math.prod(self.base[s] for s in syms)
        if a % base == 0 and a // base:
            k = a // base
            if all(bs[i] == k * base // self.base[s] * self.varied[i][1]
                   for i, s in zip(deps, syms)):
                return Dyn(a, k, syms, 0)
        if len(syms) == 1:
            s, (_, n) = syms[0], self.varied[deps[0]]
            step, grow = bs[deps[0]] - a, n - self.base[s]
            if step % grow == 0:
                k = step // grow
                return Dyn(a, k, syms, a - k * self.base[s])
        raise Mismatch(f"{a} becomes {[bs[i] for i in deps]} when {syms} grow, which is not "
                       "k * (product of dynamic sizes) + c")


class Src:
    """Where an array an op reads comes from: kind "in" (graph input i), "node" (output j of
    node k), "param" (a parameter or buffer, by name) or "const" (anything else)."""

    __slots__ = ("kind", "key", "array")

    def __init__(self, kind, key, array):
        self.kind, self.key, self.array = kind, key, array


def merge(a, bs, sizes, leaf=None):
    """``a`` with every int that differs in ``bs`` (the same structure from the extra traces)
    replaced by a :class:`Dyn`; raises Mismatch where other values differ. ``leaf(a, bs)``
    merges :class:`Src` entries."""
    if isinstance(a, Src):
        if any(not isinstance(b, Src) for b in bs):
            raise Mismatch("an array became another kind of value")
        return leaf(a, bs)
    if isinstance(a, (bool, str)) or a is None:
        if any(b != a for b in bs):
            raise Mismatch(f"{a!r} became {[b for b in bs if b != a][0]!r}")
        return a
    if isinstance(a, (int, np.integer)):
        a = int(a)
        return a if all(b == a for b in bs) else sizes.fit(a, [int(b) for b in bs])
    if isinstance(a, (float, np.floating)):
        if any(not (b == a or (b != b and a != a)) for b in bs):
            raise Mismatch(f"{a!r} became {[b for b in bs if b != a][0]!r}")
        return a
    if isinstance(a, (tuple, list)):
        if any(type(b) is not type(a) or len(b) != len(a) for b in bs):
            raise Mismatch(f"{a!r} changed length or type")
        return type(a)(merge(x, [b[i] for b in bs], sizes, leaf) for i, x in enumerate(a))
    if isinstance(a, slice):
        return slice(*(merge(getattr(a, f), [getattr(b, f) for b in bs], sizes, leaf)
                       for f in ("start", "stop", "step")))
    if isinstance(a, dict):
        if any(b.keys() != a.keys() for b in bs):
            raise Mismatch("the parameter names changed")
        return {k: merge(v, [b[k] for b in bs], sizes, leaf) for k, v in a.items()}
    if callable(a) and all(callable(b) for b in bs):
        return a  # a callback (a backward hook's): behaviour, not data the graph holds
    if any(b is not a and b != a for b in bs):
        raise Mismatch(f"{a!r} changed")
    return a


def same_array(a, b):
    """True if two host arrays have one shape, dtype and value (NaN equal to NaN)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def check_inputs(arrays, axes_of, grown):
    """The input arrays of the check trace: every dynamic axis longer (``grown``: {symbol:
    new size}, repeating entries), rolled by one along every axis and floating values
    negated (infinities kept), so sizes that are not linear in the axes, masks that only
    looked like a fill or a causal triangle, and branches on the values' signs show up."""
    return _perturbed(arrays, axes_of, lambda name, n: grown[name],
                      lambda host: np.where(np.isfinite(host), -host, host))


def varied_inputs(arrays, axes_of, symbol, grow):
    """The input arrays of an extra trace: each rolled by one along every axis, floating ones
    scaled by 17/16 (zeros, signs and infinities kept), and ``grow`` entries longer along the
    axes named ``symbol`` (repeating existing entries, so integer ids and masks stay valid;
    a negative ``grow`` drops the last entries).
    Anything the forward computed from the inputs outside the ops then changes."""
    return _perturbed(arrays, axes_of,
                      lambda name, n: n + grow if name == symbol else n,
                      lambda host: host * host.dtype.type(1.0625))


def _perturbed(arrays, axes_of, length, scale):
    """Each input array rolled by one along every axis, its dynamic axes made ``length(name,
    size)`` long by repeating entries, and ``scale(host)`` applied to floating values."""
    out = []
    for arr, axes in zip(arrays, axes_of):
        be = B.backend_of(arr)
        host = B.to_numpy(arr)
        for ax in range(host.ndim):
            if host.shape[ax] > 1:
                host = np.roll(host, 1, axis=ax)
        for ax, name in axes.items():
            n = host.shape[ax]
            host = np.take(host, np.arange(length(name, n)) % n, axis=ax)
        if host.dtype.kind in "fc":
            host = scale(host)
        out.append(be.asarray(np.ascontiguousarray(host), dtype=B.dtype_name(arr.dtype)))
    return out


def check_sizes(base, varied):
    """The sizes of the check trace, in the order tried: {symbol: 2n + 1}, then for each
    symbol (traced at n and n + d, d = +-1) n + 2d, then n - d, kept at 2 or more. Three
    sizes of an axis are enough to catch what is not linear in it (``T // 2``, a host-built
    triangle); 2n + 1 comes first as it also catches a size capped above n + 1."""
    if not base:
        return [{}]
    step = {sym: size - base[sym] for sym, size in varied}
    near = {sym: [m for m in (n + 2 * step[sym], n - step[sym]) if m >= 2] or [2 * n + 1]
            for sym, n in base.items()}
    out = [{sym: 2 * n + 1 for sym, n in base.items()}]
    for k in range(2):
        at = {sym: near[sym][min(k, len(near[sym]) - 1)] for sym in base}
        if at not in out:
            out.append(at)
    return out


def srcs(v):
    """The Srcs in an op's params (nested in tuples, lists and dicts)."""
    if isinstance(v, Src):
        return [v]
    if isinstance(v, (tuple, list)):
        return [s for x in v for s in srcs(x)]
    if isinstance(v, dict):
        return [s for x in v.values() for s in srcs(x)]
    return []
