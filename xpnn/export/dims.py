"""``Dim`` and the ``dynamic_shapes`` argument of ``xpnn.export.export``; the user inputs a
forward takes (their slots in args/kwargs and the names PyTorch gives them)."""
from __future__ import annotations

import inspect

from .. import backend as B
from ..autograd import TensorBase


class ConstraintViolationError(RuntimeError):
    """An example input outside a Dim's range (PyTorch's class of the same name, a
    RuntimeError)."""


class _Hint:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"DimHint({self.name})"


class Dim:
    """A dynamic dimension, as ``torch.export.Dim``: the axes given the same Dim share one
    size, free at run time within ``[min, max]``.

    Args:
        name: the symbol's name (printed in the graph and range constraints).
        min, max: inclusive bounds (default 0 and unbounded), checked on the example input
            at export time and on every call of ``ep.module()``.
    """

    AUTO, STATIC, DYNAMIC = _Hint("AUTO"), _Hint("STATIC"), _Hint("DYNAMIC")

    def __init__(self, name, *, min=None, max=None):  # noqa: A002 - PyTorch's names
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Dim: name must be a Python identifier, got {name!r}")
        lo, hi = 0 if min is None else int(min), max
        if hi is not None and int(hi) < lo:
            raise AssertionError(f"Cannot create Dim with inconsistent min={lo}, max={hi}")
        self.__name__, self.min, self.max = name, lo, None if hi is None else int(hi)

    def __repr__(self):
        hi = "" if self.max is None else f", max={self.max}"
        return f"Dim({self.__name__!r}, min={self.min}{hi})"

    def describe(self):
        return f"VR[{self.min}, {'int_oo' if self.max is None else self.max}]"


def is_tensor(x):
    return isinstance(x, TensorBase) or B.is_array(x)


def _found(value, path, out):
    if is_tensor(value):
        out.append((path, value))
    elif isinstance(value, (tuple, list)):
        for j, item in enumerate(value):
            _found(item, path + (j,), out)


def user_inputs(model, args, kwargs):
    """(slots, arrays, names, forward's parameter names) of the Tensors in args and kwargs
    (inside tuples and lists too); a slot is (position or keyword, indices...)."""
    found = []
    for i, a in enumerate(args):
        _found(a, (i,), found)
    for k, v in kwargs.items():
        _found(v, (k,), found)
    try:
        params = [p.name for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError, AttributeError):
        params = []
    names = []
    for path, _ in found:
        head = path[0]
        base = head if isinstance(head, str) else \
            params[head] if head < len(params) else f"args_{head}"
        names.append("_".join([base] + [str(j) for j in path[1:]]))
    arrays = [a.array if isinstance(a, TensorBase) else a for _, a in found]
    return [p for p, _ in found], arrays, names, params


def _per_tensor(spec, ndim, where):
    """{axis: Dim} from one tensor's spec: {axis: Dim or None} or a list per axis."""
    if spec is None:
        return {}
    if isinstance(spec, dict):
        items = spec.items()
    elif isinstance(spec, (tuple, list)):
        items = enumerate(spec)
    else:
        raise ValueError(f"xpnn.export.export: dynamic_shapes{where} must be a dict {{axis: "
                         f"Dim}} or a list of Dims per axis, got {type(spec).__name__}")
    out = {}
    for axis, d in items:
        if d is None or d is Dim.STATIC:
            continue
        if not isinstance(axis, int) or not -ndim <= axis < ndim:
            raise ValueError(f"xpnn.export.export: dynamic_shapes{where} names axis {axis!r}"
                             f" of an input with {ndim} dims")
        if d is Dim.AUTO or d is Dim.DYNAMIC:
            d = Dim(f"s{where.count('[')}_{axis % ndim}".replace("[", ""))
        if not isinstance(d, Dim):
            raise ValueError(f"xpnn.export.export: dynamic_shapes{where}[{axis}] must be a "
                             f"Dim, Dim.STATIC/AUTO/DYNAMIC or None, got {d!r}")
        out[axis % ndim] = d
    return out


def parse(dynamic_shapes, slots, arrays, params, kwargs):
    """{axis: Dim} per user input, from ``dynamic_shapes`` (a dict by forward argument name,
    or a tuple/list by position); raises ValueError on a malformed spec and
    ConstraintViolationError where an example size is outside its Dim's range."""
    axes_of = [{} for _ in slots]
    if dynamic_shapes is None:
        return axes_of
    if isinstance(dynamic_shapes, dict):
        known = set(params) | set(kwargs)
        for key in dynamic_shapes:
            if key not in known:
                raise ValueError(f"xpnn.export.export: dynamic_shapes names {key!r}, which is "
                                 f"not an argument of forward {sorted(known)}")
        by_head = {(params.index(k) if k in params else k): v
                   for k, v in dynamic_shapes.items()}
    elif isinstance(dynamic_shapes, (tuple, list)):
        by_head = dict(enumerate(dynamic_shapes))
    else:
        raise ValueError(f"xpnn.export.export: dynamic_shapes must be a dict, tuple or list, "
                         f"got {type(dynamic_shapes).__name__}")
    for n, (slot, arr) in enumerate(zip(slots, arrays)):
        spec = by_head.get(slot[0])
        for j in slot[1:]:  # nested inputs: a spec per item
            spec = spec[j] if isinstance(spec, (tuple, list)) and \
                not all(isinstance(s, (Dim, _Hint)) or s is None for s in spec) else None
        where = f"[{slot[0]!r}]" + "".join(f"[{j}]" for j in slot[1:])
        axes_of[n] = _per_tensor(spec, len(arr.shape), where)
    sizes = {}
    for slot, arr, axes in zip(slots, arrays, axes_of):
        for axis, d in axes.items():
            size = int(arr.shape[axis])
            if size < d.min or (d.max is not None and size > d.max):
                raise ConstraintViolationError(
                    f"xpnn.export.export: {size} not in range [{d.min}, "
                    f"{'int_oo' if d.max is None else d.max}] (Dim {d.__name__!r} of the "
                    f"example input's axis {axis})")
            if sizes.setdefault(d.__name__, size) != size:
                raise ConstraintViolationError(
                    f"xpnn.export.export: Dim {d.__name__!r} has size {sizes[d.__name__]} in "
                    f"one input and {size} in another")
    return axes_of
