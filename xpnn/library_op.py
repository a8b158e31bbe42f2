"""torch.library's operator object, :class:`CustomOpDef`: binding a call to its schema,
choosing the kernel by device type, and the one autograd node of an opaque call (see
library.py for the API around it).
"""
from __future__ import annotations

import functools
import inspect

from .autograd import Function, is_grad_enabled, no_grad
from .library_schema import parse_schema
from .tensor import Tensor

_DEVICE_TYPES = ("cpu", "cuda")


class CustomOpDef:
    """PyTorch's ``CustomOpDef``: a custom operator, callable as its function is.

    Made by :func:`custom_op`; also reachable as ``torch.ops.<ns>.<name>`` (and
    ``.default``).
    """

    _opaque = True  # the body runs unrecorded (False: a Library op's composite kernel)

    def __init__(self, namespace, name, schema, fn, signature=None):
        self._namespace, self._name = namespace, name
        self._qualname = f"{namespace}::{name}"
        self._schema = schema
        self._init_fn = fn
        self._sig = signature or inspect.signature(fn)
        self._kinds = [kind for kind, *_ in parse_schema(schema)[1]]
        self._kernels, self._default = {}, fn
        self._fake = self._backward = self._setup_context = None
        self._node = _node_class(self)
        if fn is not None:
            functools.update_wrapper(self, fn, updated=())

    def __repr__(self):
        return f"<CustomOpDef({self._qualname})>"

    def __call__(self, *args, **kwargs):
        values = self._bind(args, kwargs)
        if not self._opaque and self._backward is None:
            return self._run(values)  # composite: its ops record their own gradients
        if is_grad_enabled() and any(isinstance(v, Tensor) and v.requires_grad
                                     for v in values):
            return self._node.apply(*values)
        with no_grad():
            return self._run(values)

    # -- registration -----------------------------------------------------------------
    def register_kernel(self, device_types, fn=None, /):
        """Use ``fn`` for tensors on the given device type(s) ("cpu", "cuda"); a decorator
        when ``fn`` is None."""
        types = (device_types,) if isinstance(device_types, str) else tuple(device_types)
        for kind in types:
            if kind not in _DEVICE_TYPES:
                raise ValueError(f"register_kernel({self._qualname}): unknown device type "
                                 f"{kind!r}; expected one of {_DEVICE_TYPES}")
        if fn is None:
            return lambda f: self.register_kernel(types, f)
        for kind in types:
            self._kernels[kind] = fn
        return fn

    def register_fake(self, fn=None, /, *, _stacklevel=1):
        """The fake kernel: outputs of the right shapes and dtypes (``empty_like``...),
        used on the "meta" device and by :func:`opcheck`."""
        if fn is None:
            return lambda f: self.register_fake(f)
        if not callable(fn):
            raise TypeError(f"register_fake({self._qualname}): expected a function, got "
                            f"{type(fn).__name__}")
        self._fake = fn
        return fn

    def register_autograd(self, backward, /, *, setup_context=None):
        """``backward(ctx, *grads)`` returns one gradient per input (None for non-Tensor
        ones); ``setup_context(ctx, inputs, output)`` saves what it needs on ctx."""
        if not callable(backward):
            raise TypeError(f"register_autograd({self._qualname}): expected the backward "
                            f"function to be callable, got {type(backward).__name__}")
        if setup_context is not None and not callable(setup_context):
            raise TypeError(f"register_autograd({self._qualname}): expected setup_context "
                            f"to be callable, got {type(setup_context).__name__}")
        self._backward, self._setup_context = backward, setup_context

    # -- running ----------------------------------------------------------------------
    def _bind(self, args, kwargs):
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as e:  # PyTorch's wording for a missing argument
            e = str(e).replace("missing a required argument:", "is missing value for argument")
            raise RuntimeError(f"{self._qualname}() {e}. Declaration: "
                               f"{self._qualname}{self._schema}") from None
        bound.apply_defaults()
        values = tuple(bound.arguments[n] for n in self._sig.parameters)
        for kind, name, v in zip(self._kinds, self._sig.parameters, values):
            if kind.startswith("Tensor") and not kind.endswith(("[]", "?")) \
                    and not isinstance(v, Tensor):
                raise RuntimeError(f"{self._qualname}() Expected a value of type 'Tensor' "
                                   f"for argument '{name}' but instead found type "
                                   f"'{type(v).__name__}'.\nDeclaration: "
                                   f"{self._qualname}{self._schema}")
        return values

    def _kernel_for(self, values):
        kind = next((v.device.type for v in _tensors(values)), "cpu")
        if kind not in ("cpu", "meta"):  # CuPy, torch CUDA, array-api-strict's device1
            kind = "cuda"
        if kind == "meta" and self._fake is not None:
            return self._fake
        kernel = self._kernels.get(kind, self._default)
        if kernel is None:
            known = sorted(self._kernels) + (["(fake)"] if self._fake else [])
            raise NotImplementedError(
                f"Could not run '{self._qualname}' with arguments from the "
                f"'{kind.upper()}' backend: no kernel for device type {kind!r} (it has "
                f"kernels for: {', '.join(known) or 'none'})")
        return kernel

    def _run(self, values, kernel=None):
        kernel = kernel or self._kernel_for(values)
        pos, kw = [], {}
        for (name, param), v in zip(self._sig.parameters.items(), values):
            if param.kind == param.KEYWORD_ONLY:
                kw[name] = v
            else:
                pos.append(v)
        out = kernel(*pos, **kw)
        if self._opaque:
            ins = [id(t) for t in _tensors(values)]
            if any(id(o) in ins for o in _tensors(out if isinstance(out, tuple) else (out,))):
                raise RuntimeError(
                    f"{self._name} ({self._qualname}): The output of this custom operator "
                    "(1) must not also be an input to this custom operator and (2) may not "
                    "alias any inputs to this custom operator or other returns. The most "
                    "common way to trigger this error is if we have y = custom_op(x) and y "
                    "and x are the same Tensor. Please instead return a clone of the "
                    "offending output tensor(s) (e.g. return x.clone()) or refactor the "
                    "custom operator to not return y.")
        return out


def _tensors(values):
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from (t for t in v if isinstance(t, Tensor))


def _node_class(op):
    """The autograd node of one op: forward runs the kernel (unrecorded, as every
    PyTorch-style Function's forward), backward is the registered formula."""
    def forward(*values):
        return op._run(values)

    def setup_context(ctx, inputs, output):
        if op._setup_context is not None:
            op._setup_context(ctx, inputs, output)

    def backward(ctx, *grads):
        if op._backward is None:
            raise RuntimeError(f"Trying to backward through {op._namespace}.{op._name}."
                               "default but no autograd formula was registered. Please use "
                               "register_autograd to add one.")
        res = op._backward(ctx, *grads)
        res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        if len(res) != len(ctx._arg_is_tensor):
            raise RuntimeError(f"function {ctx.name()} returned an incorrect number of "
                               f"gradients (expected {len(ctx._arg_is_tensor)}, got "
                               f"{len(res)})")
        return res

    name = f"GeneratedBackwardFor_{op._namespace}_{op._name}_default"
    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "setup_context": staticmethod(setup_context),
                                    "backward": staticmethod(backward)})
