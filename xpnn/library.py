"""torch.library: user-defined operators (PyTorch 2.4+'s Python custom-op API) and
``torch.ops``.

A :func:`custom_op` is opaque, as in PyTorch: its body runs without recording (the xpnn ops
inside it make no graph nodes); when an input requires grad the call is one node, a
PyTorch-style :class:`~xpnn.autograd.Function` (``GeneratedBackwardFor_<ns>_<op>_default``)
whose backward is the one given to ``register_autograd`` (or PyTorch's "no autograd formula"
RuntimeError). Only Tensors passed directly as arguments get gradients (not the elements of
a ``Tensor[]`` argument).

Device types: a kernel registered for ``"cpu"`` runs for tensors whose ``device.type`` is
"cpu" (the NumPy and array-api-strict backends, torch CPU tensors), one for ``"cuda"`` for
every other device (CuPy arrays, torch CUDA tensors, array-api-strict's "device1" that
stands in for an accelerator in the tests); the function given to ``custom_op`` (with
``device_types=None``) serves every device without its own kernel. On the "meta" device the
fake kernel runs.

The legacy :class:`Library` style (``define`` + ``impl``) makes the same op objects, but its
kernels run as ordinary code (recorded, like PyTorch's CompositeImplicitAutograd and its
autograd fallthrough for Python kernels) unless an autograd formula is registered.
``torch.compile`` is xpnn's identity (xpnn/_compile.py), so compiled callers run the ops
eagerly. :func:`opcheck`'s tests live in library_check.py.
"""
from __future__ import annotations

import ast
import inspect
import warnings

from .library_check import DEFAULT_TEST_UTILS, OpCheckError, run_checks
from .library_op import _DEVICE_TYPES, CustomOpDef
from .library_schema import infer_schema, parse_schema

__all__ = ["CustomOpDef", "Library", "OpCheckError", "custom_op", "define", "impl",
           "impl_abstract", "infer_schema", "opcheck", "ops", "register_autograd",
           "register_fake", "register_kernel"]

_REGISTRY = {}  # (namespace, name) -> the op (a CustomOpDef)
# PyTorch's dispatch keys, as Library.impl and impl() take them: "cpu"/"cuda" kernels, the
# fake (shape-only) kernel, or the default kernel for every device
_KEYS = {"CPU": "cpu", "CUDA": "cuda", "Meta": "meta", "CompositeImplicitAutograd": None,
         "CompositeExplicitAutograd": None, "": None, "Autograd": None,
         "AutogradCPU": None, "AutogradCUDA": None}


def _split_name(name, where):
    parts = name.split("::") if isinstance(name, str) else ()
    if len(parts) != 2 or not all(p.isidentifier() for p in parts):
        raise ValueError(f"{where}: expected a name of the form 'namespace::opname', got "
                         f"{name!r}")
    return parts


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None, tags=None):
    """Make ``fn`` a custom operator named ``"namespace::opname"`` (PyTorch 2.4's API).

    Args:
        name: "namespace::opname"; ``torch.ops.namespace.opname`` finds it.
        fn: the implementation (Tensors in, Tensors out, no aliasing of inputs); None
            returns a decorator.
        mutates_args: names of the Tensor arguments it writes in place (``()`` if none), or
            "unknown". Required, as in PyTorch.
        device_types: "cpu"/"cuda" (or a sequence): ``fn`` serves only those; None: all.
        schema: a schema string instead of the one inferred from ``fn``'s type hints.
        tags: accepted and ignored.
    Returns:
        a :class:`CustomOpDef` (or a decorator making one).
    Raises:
        ValueError: a malformed name, mutates_args not a sequence of names or "unknown",
            or what :func:`infer_schema` refuses (a missing type hint ...).
    """
    def make(f):  # PyTorch checks the arguments when the function comes
        if isinstance(mutates_args, str) and mutates_args != "unknown":
            raise ValueError("mutates_args must either be a sequence of the names of the "
                             "arguments that are mutated or the string 'unknown'. ")
        namespace, opname = _split_name(name, "custom_op")
        text = schema if schema is not None else infer_schema(f, mutates_args=mutates_args)
        op = CustomOpDef(namespace, opname, text, f)
        if device_types is not None:
            op._default = None
            op.register_kernel(device_types, f)
        _REGISTRY[(namespace, opname)] = op
        return op
    return make if fn is None else make(fn)


# -- torch.ops ----------------------------------------------------------------------------
class _OpOverload:
    """``torch.ops.ns.name`` (an OpOverloadPacket) and its ``.default`` (an OpOverload):
    both call the op."""

    def __init__(self, op, overload=None):
        self._op, self._overloadname = op, overload

    def __call__(self, *args, **kwargs):
        return self._op(*args, **kwargs)

    @property
    def default(self):
        return _OpOverload(self._op, "default")

    @property
    def _schema(self):
        return f"{self._op._qualname}{self._op._schema}"

    def __str__(self):
        base = f"{self._op._namespace}.{self._op._name}"
        return base + (f".{self._overloadname}" if self._overloadname else "")

    def __repr__(self):
        base = f"{self._op._namespace}.{self._op._name}"
        if self._overloadname:
            return f"<OpOverload(op='{base}', overload='{self._overloadname}')>"
        return f"<OpOverloadPacket(op='{base}')>"


class _OpNamespace:
    def __init__(self, name):
        self.name = name

    def __getattr__(self, op):
        found = _REGISTRY.get((self.name, op))
        if found is None:
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute "
                                 f"'{op}'")
        return _OpOverload(found)


class _Ops:
    """``torch.ops``: ``ops.<namespace>.<op>`` for every op defined here."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _OpNamespace(name)


ops = _Ops()


# -- module-level registration -------------------------------------------------------------
def _op(op, where):
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, _OpOverload):
        return op._op
    key = tuple(_split_name(op, where))
    if key not in _REGISTRY:
        raise ValueError(f"{where}: no operator {op!r} is defined (define it with custom_op "
                         "or Library.define first)")
    return _REGISTRY[key]


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1, allow_override=True):
    """``torch.library.register_fake(op, fn)``: op a CustomOpDef, ``torch.ops`` entry or
    "ns::name"; a decorator without ``fn``."""
    target = _op(op, "register_fake")
    return target.register_fake(func) if func is not None else target.register_fake


def impl_abstract(qualname, func=None, *, lib=None, _stacklevel=1):
    """PyTorch's older name of :func:`register_fake` (with its FutureWarning)."""
    warnings.warn("`torch.library.impl_abstract` was renamed to `torch.library.register_fake`"
                  ". Please use that instead; we will remove `torch.library.impl_abstract` in "
                  "a future version of PyTorch.", FutureWarning, stacklevel=2 + _stacklevel - 1)
    return register_fake(qualname, func)


def register_autograd(op, backward, /, *, setup_context=None, lib=None):
    """``torch.library.register_autograd``: see :meth:`CustomOpDef.register_autograd`."""
    _op(op, "register_autograd").register_autograd(backward, setup_context=setup_context)


def register_kernel(op, device_types, func=None, /, *, lib=None):
    """``torch.library.register_kernel``: see :meth:`CustomOpDef.register_kernel`."""
    return _op(op, "register_kernel").register_kernel(device_types, func)


# -- the legacy Library style --------------------------------------------------------------
def _signature(args):
    """An inspect.Signature from parse_schema's arguments (for binding calls)."""
    params = []
    for _, name, default, kw_only in args:
        kind = inspect.Parameter.KEYWORD_ONLY if kw_only else \
            inspect.Parameter.POSITIONAL_OR_KEYWORD
        value = inspect.Parameter.empty
        if default is not None:
            value = None if default == "None" else ast.literal_eval(default)
        params.append(inspect.Parameter(name, kind, default=value))
    return inspect.Signature(params)


class Library:
    """``torch.library.Library(ns, kind)``: ``"DEF"`` / ``"FRAGMENT"`` may ``define``
    ops in namespace ``ns``; every kind may ``impl`` kernels for them."""

    def __init__(self, ns, kind, dispatch_key=""):
        if kind not in ("DEF", "IMPL", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key

    def __repr__(self):
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})"

    def define(self, schema, alias_analysis="", *, tags=()):
        """Declare ``"name(Type arg, ...) -> Return"``; returns the name."""
        if self.kind == "IMPL":
            raise RuntimeError(f"Library.define: a Library of kind IMPL ({self.ns}) cannot "
                               "define operators; use kind 'DEF' or 'FRAGMENT'")
        head, args, ret = parse_schema(schema)
        name = head.split(".")[0]
        if (self.ns, name) in _REGISTRY and not _REGISTRY[(self.ns, name)]._opaque:
            raise RuntimeError(f"Tried to register an operator ({self.ns}::{name}) with the "
                               "same name and overload name multiple times.")
        op = CustomOpDef(self.ns, name, schema[schema.index("("):], None, _signature(args))
        op._opaque, op._default = False, None
        _REGISTRY[(self.ns, name)] = op
        return name

    def impl(self, op_name, fn, dispatch_key="", *, with_keyset=False, allow_override=True):
        """Register ``fn`` for ``op_name`` under a dispatch key ("CPU", "CUDA", "Meta",
        "CompositeImplicitAutograd", ...; "" for every device)."""
        if isinstance(op_name, (CustomOpDef, _OpOverload)):
            op = _op(op_name, "Library.impl")
        else:
            op = _op(op_name if "::" in op_name else f"{self.ns}::{op_name}", "Library.impl")
        key = dispatch_key or self.dispatch_key
        if key not in _KEYS:
            raise ValueError(f"Library.impl: unsupported dispatch key {key!r}; expected one "
                             f"of {sorted(_KEYS)}")
        kind = _KEYS[key]
        if kind == "meta":
            op.register_fake(fn)
        elif kind is None:
            op._default = fn
        else:
            op._kernels[kind] = fn


def define(qualname, schema, *, lib=None, tags=()):
    """``torch.library.define("ns::name", "(Tensor x) -> Tensor")``."""
    ns, name = _split_name(qualname, "define")
    (lib or Library(ns, "FRAGMENT")).define(name + schema, tags=tags)


def impl(qualname, types, func=None, *, lib=None):
    """``torch.library.impl``: ``impl("ns::name", "cpu")`` (device types or dispatch keys)
    or the legacy ``impl(lib, "name", "CPU")``; a decorator without ``func``."""
    if isinstance(qualname, Library):  # impl(lib, name, dispatch_key)
        library, name, key = qualname, types, func or ""
        return lambda f: (library.impl(name, f, key), f)[1]
    keys = (types,) if isinstance(types, str) else tuple(types)
    keys = [k.upper() if k in _DEVICE_TYPES else k for k in keys]
    ns = _split_name(qualname, "impl")[0]

    def register(f):
        for key in keys:
            (lib or Library(ns, "FRAGMENT")).impl(qualname, f, key)
        return f
    return register if func is None else register(func)


def opcheck(op, args, kwargs=None, *, test_utils=DEFAULT_TEST_UTILS, raise_exception=True,
            atol=None, rtol=None):
    """``torch.library.opcheck``: test an op on sample arguments; see library_check.py
    for what each test does in xpnn.

    Args:
        op: a CustomOpDef, ``torch.ops`` entry or "ns::name".
        args, kwargs: one sample call.
        test_utils: a name or names from ``test_schema``, ``test_autograd_registration``,
            ``test_faketensor``, ``test_aot_dispatch_static``, ``test_aot_dispatch_dynamic``.
        raise_exception: raise OpCheckError at the first failure; else report it.
        atol, rtol: the gradient check's tolerances.
    Returns:
        dict: test name -> "SUCCESS" or the exception it raised.
    """
    return run_checks(_op(op, "opcheck"), args, kwargs, test_utils, raise_exception,
                      atol, rtol)
