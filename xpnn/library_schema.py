"""torch.library's schemas: :func:`infer_schema` (a custom op's schema from its type hints,
with PyTorch's ValueErrors for what it cannot express) and :func:`parse_schema` (the
argument names and types of a schema string given to ``Library.define``).

A schema reads as PyTorch's: ``(Tensor x, SymInt n, float s=1.0, *, Tensor(a3!) out) ->
Tensor``; a Tensor named in ``mutates_args`` carries ``(a{i}!)``, i its position.
"""
from __future__ import annotations

import collections.abc
import inspect
import types
import typing

from ._dtype_class import dtype as _dtype
from .dtypes import device as _device
from .tensor import Tensor

_NONE = type(None)
_SCALARS = {int: "SymInt", float: "float", bool: "bool"}
_DEFAULT_TYPES = (int, float, bool, str, _NONE)


def _elem(ann):
    """The schema type of one list element or plain argument, or None."""
    if ann is Tensor:
        return "Tensor"
    if ann in _SCALARS:
        return _SCALARS[ann]
    if ann is str:
        return "str"
    if isinstance(ann, type) and issubclass(ann, _dtype):
        return "ScalarType"
    if isinstance(ann, type) and issubclass(ann, _device):
        return "Device"
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not _NONE]
        if set(kinds) == {int, float, bool}:
            return "Scalar" + ("?" if _NONE in args else "")
        if len(kinds) == 1 and _NONE in args:
            inner = _schema_type(kinds[0])
            return None if inner is None or inner.endswith("?") else inner + "?"
    return None


def _schema_type(ann):
    """The schema type of a parameter annotation (lists included), or None."""
    plain = _elem(ann)
    if plain is not None:
        return plain
    if typing.get_origin(ann) in (list, collections.abc.Sequence):
        args = typing.get_args(ann)
        inner = _elem(args[0]) if len(args) == 1 else None
        if inner in ("Tensor", "Tensor?", "SymInt", "float", "bool", "Scalar"):
            return inner + "[]"
    return None


def _return_type(ann):
    if ann is None or ann is _NONE:
        return "()"
    if typing.get_origin(ann) is tuple:
        parts = [_return_type(a) for a in typing.get_args(ann)]
        return None if None in parts or "()" in parts else f"({', '.join(parts)})"
    found = _schema_type(ann)
    return found if found in ("Tensor", "Tensor[]", "SymInt", "float", "bool") else None


def _resolve(ann, fn):
    """A string annotation (``from __future__ import annotations``) evaluated in fn's
    module."""
    if not isinstance(ann, str):
        return ann
    try:
        return eval(ann, getattr(fn, "__globals__", {}))  # noqa: S307 (the user's own hint)
    except Exception:
        return ann


def _default(value):
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def infer_schema(prototype_function, /, *, mutates_args, op_name=None):
    """PyTorch's ``torch.library.infer_schema``: the schema string of a function from its
    type hints.

    Args:
        prototype_function: the function; every parameter and the return need hints.
        mutates_args: names of the Tensor arguments it writes, or ``"unknown"`` (all).
        op_name: with it, the schema starts with the name (``"f(Tensor x) -> Tensor"``).
    Returns:
        str, e.g. ``"(Tensor x, float s) -> Tensor"``.
    Raises:
        ValueError (PyTorch's "infer_schema(func): ... Got func with signature ...") for a
        missing or unsupported hint, *args/**kwargs, an unsupported default value, or a name
        in mutates_args that is no parameter or no Tensor.
    """
    sig = inspect.signature(prototype_function)

    def error(what):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    unknown = mutates_args == "unknown"
    wanted = set() if unknown else set(mutates_args)
    parts, kw_seen = [], False
    for idx, (name, param) in enumerate(sig.parameters.items()):
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            error("We do not support positional-only args, varargs, or varkwargs.")
        if param.kind == param.KEYWORD_ONLY and not kw_seen:
            parts.append("*")
            kw_seen = True
        if param.annotation is param.empty:
            error(f"Parameter {name} must have a type annotation.")
        ann = _resolve(param.annotation, prototype_function)
        kind = _schema_type(ann)
        if kind is None:
            extra = ("We do not support Tuple inputs in schema. As a workaround, please try "
                     "to use List instead. " if typing.get_origin(ann) is tuple else "")
            error(f"Parameter {name} has unsupported type {param.annotation}. {extra}"
                  "The valid types are: Tensor, int, float, bool, str, dtype, device, "
                  "their Optional and Sequence forms, and Union[int, float, bool].")
        if unknown and kind.startswith("Tensor") or name in wanted:
            if not kind.startswith("Tensor"):
                error(f"Parameter {name} is in mutable_args but only Tensors or collections "
                      "of Tensors can be mutated")
            kind = f"Tensor(a{idx}!){kind[len('Tensor'):]}"
        text = f"{kind} {name}"
        if param.default is not param.empty:
            if not isinstance(param.default, _DEFAULT_TYPES + (_dtype, _device)):
                error(f"Parameter {name} has an unsupported default value type "
                      f"{type(param.default)}. Please file an issue on GitHub so we can "
                      "prioritize this.")
            text += f"={_default(param.default)}"
        parts.append(text)
    missing = wanted - set(sig.parameters)
    if missing:
        error(f"{missing} in mutates_args were not found in the custom op's signature. "
              "mutates_args should contain the names of all args that the custom op "
              "mutates, or just the string 'unknown' if you don't know.")
    if sig.return_annotation is sig.empty:
        error("No return type annotation was provided. Please add one.")
    ret = _return_type(_resolve(sig.return_annotation, prototype_function))
    if ret is None:
        error(f"Return has unsupported type {sig.return_annotation}. The valid types are: "
              "Tensor, a tuple or list of Tensors, int, float, bool, None.")
    head = op_name or ""
    return f"{head}({', '.join(parts)}) -> {ret}"


def parse_schema(schema):
    """Split ``"name.overload(Tensor x, float a=1.0) -> Tensor"`` (the name optional).

    Returns:
        (name or "", [(type, arg name, default text or None, keyword-only), ...],
        return text).
    Raises:
        RuntimeError (PyTorch's class for a schema it cannot parse) when the text has no
        ``(...) -> ...`` form.
    """
    text = schema.strip()
    head, sep, rest = text.partition("(")
    depth, close = 1, -1
    for i, ch in enumerate(rest):  # the parenthesis closing the arguments
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            close = i
            break
    arrow = rest.find("->", close)
    if not sep or close < 0 or arrow < 0:
        raise RuntimeError(f"Library.define: could not parse the schema {schema!r}: expected "
                           "'name(Type arg, ...) -> Return'")
    args, kw_only = [], False
    for piece in rest[:close].split(","):
        piece = piece.strip()
        if piece == "*":
            kw_only = True
        if not piece or piece == "*":
            continue
        decl, eq, default = piece.partition("=")
        kind, _, name = decl.strip().rpartition(" ")
        args.append((kind.strip(), name.strip(), default.strip() if eq else None, kw_only))
    return head.strip(), args, rest[arrow + 2:].strip()
