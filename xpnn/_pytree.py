"""Nested containers of tensors ("pytrees") as torch.func sees them: tuples, lists,
namedtuples and dicts are containers, anything else is a leaf. Used by xpnn.func to take
apart arguments and results and to put them back together.
"""
from __future__ import annotations


def flatten(tree):
    """(list of leaves in order, spec): :func:`unflatten` (leaves, spec) rebuilds ``tree``."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(x, leaves):
    if isinstance(x, (tuple, list)):
        return ("seq", type(x), [_flatten(v, leaves) for v in x])
    if isinstance(x, dict):
        keys = list(x)
        return ("map", type(x), keys, [_flatten(x[k], leaves) for k in keys])
    leaves.append(x)
    return None


def unflatten(leaves, spec):
    """The container ``spec`` describes, holding ``leaves`` in order."""
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec is None:
        return next(it)
    if spec[0] == "seq":
        kind, items = spec[1], [_build(s, it) for s in spec[2]]
        if kind is tuple or kind is list:
            return kind(items)
        if hasattr(kind, "_fields"):  # a namedtuple
            return kind(*items)
        return kind(items)
    kind, keys = spec[1], spec[2]
    return kind(zip(keys, [_build(s, it) for s in spec[3]]))


def num_leaves(spec):
    if spec is None:
        return 1
    return sum(num_leaves(s) for s in spec[-1])


def describe(spec):
    """A short text of a structure, for error messages: ``(*, [*, *])``, ``{'w': *}``."""
    if spec is None:
        return "*"
    if spec[0] == "seq":
        inner = ", ".join(describe(s) for s in spec[2])
        return f"[{inner}]" if spec[1] is list else f"({inner}{',' if len(spec[2]) == 1 else ''})"
    return "{" + ", ".join(f"{k!r}: {describe(s)}" for k, s in zip(spec[2], spec[3])) + "}"


def broadcast_prefix(prefix, spec, what):
    """One value per leaf of the structure ``spec``: a ``prefix`` that is not a container
    (an int, None) applies to every leaf below it; a container must match ``spec`` (the
    same kind of container, length or keys) down to where it stops. ``what`` names the
    argument in the error."""
    out = []
    _prefix(prefix, spec, out, what)
    return out


def _prefix(prefix, spec, out, what):
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * num_leaves(spec))
        return
    fits = spec is not None and (
        (spec[0] == "seq" and isinstance(prefix, (tuple, list)) and len(prefix) == len(spec[2]))
        or (spec[0] == "map" and isinstance(prefix, dict) and set(prefix) == set(spec[2])))
    if not fits:
        raise ValueError(f"{what}: {prefix!r} is not compatible with the structure of the "
                         f"values it describes, {describe(spec)}")
    if spec[0] == "seq":
        for p, s in zip(prefix, spec[2]):
            _prefix(p, s, out, what)
    else:
        for k, s in zip(spec[2], spec[3]):
            _prefix(prefix[k], s, out, what)
