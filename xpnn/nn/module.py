"""Module and Parameter (and Identity); the containers Sequential and ModuleList live in
sequential.py, the layer-argument helpers in layer_args.py.

A Module holds Parameters, buffers and sub-Modules (PyTorch's ``torch.nn.Module``: the same
methods, traversal order, state_dict names, hooks and repr). ``Module.__new__`` records the
arguments each module was constructed with, its *recipe*: ``xpnn.save(model, f)`` stores the
recipes and the module tree instead of pickling the object (see xpnn/io/recipe.py).
"""
from __future__ import annotations

import copy
import weakref
from collections import OrderedDict
from collections.abc import Iterator

from .. import backend as B
from ..autograd import is_grad_enabled
from .._sparse_coo import SparseTensor
from ..backend_meta import meta_empty
from ..tensor import Tensor
from .buffer import Buffer
from .hooks import BackwardHookCall
from .layer_args import _check_name, as_input, check_int, placement, rebuild_on
from . import module_global_hooks as _global
from .module_convert import _ModuleConvert, _move, _param_setter
from .module_hooks import _ModuleHooks
from .module_state import (IncompatibleKeys, StateDictKeyError, StateDictShapeError,
                           StateDictTypeError, _ModuleState)
from .module_traversal import _ModuleTraversal


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:  # PyTorch: Parameter() is an empty float tensor
            be = B.default_backend()
            data = be.xp.empty((0,), dtype=be.dtype(B.get_default_dtype()), device=be.device)
        inference = False
        if isinstance(data, SparseTensor):  # PyTorch trains these; xpnn's are dense only
            raise NotImplementedError("nn.Parameter: a sparse COO tensor cannot be a "
                                      "Parameter in xpnn; register it as a buffer "
                                      "(register_buffer), or make the weight dense with "
                                      ".to_dense()")
        if isinstance(data, Tensor):  # an inference tensor's Parameter is one (PyTorch)
            data, inference = data.array, bool(data._inf)
        super().__init__(data)
        self._inf = self._inf or inference
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        """A copy without the gradient, as PyTorch's Parameter (so ``copy.deepcopy(model)``
        starts with no gradients; a plain Tensor's copy keeps its own)."""
        grad, self._grad = self._grad, None
        try:
            return super().__deepcopy__(memo)
        finally:
            self._grad = grad


class ArgModule:
    """A Module given to a constructor, as the recipe keeps it: a weak reference, plus the
    class and recipe it was made with for when it is gone (TransformerEncoder copies its
    ``encoder_layer`` and drops it; saving rebuilds such a template from its own recipe)."""

    __slots__ = ("ref", "cls", "recipe")

    def __init__(self, module, cls=None, recipe=None):
        self.ref = lambda: None
        self.cls, self.recipe = cls, recipe
        if module is not None:
            self.ref = weakref.ref(module)
            self.cls, self.recipe = type(module), module.__dict__.get("_recipe", ((), {}))

    def __call__(self):
        return self.ref()

    def __deepcopy__(self, memo):
        # a copied model's recipe refers to the copied modules (the copy is memoized, so
        # the children copied later are these same objects)
        m = self.ref()
        return self if m is None else ArgModule(copy.deepcopy(m, memo))

    def __reduce__(self):
        m = self.ref()
        return (ArgModule, (m,) if m is not None else (None, self.cls, self.recipe))


class SpentIterator:
    """A constructor argument that was an iterator (``ModuleList(m for m in ...)``): the
    constructor consumed it, so the recipe keeps only its kind (a generator cannot be
    deep-copied or pickled); saving a module whose rebuild would need it refuses it as any
    unstorable argument (containers are rebuilt from their items and never read it)."""

    __slots__ = ("kind",)

    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"<spent {self.kind}>"


def _recipe_value(v):
    if isinstance(v, Module):
        return ArgModule(v)
    if isinstance(v, Iterator):
        return SpentIterator(type(v).__name__)
    if type(v) in (list, tuple):
        return type(v)(_recipe_value(x) for x in v)
    if type(v) in (dict, OrderedDict):
        return type(v)((k, _recipe_value(x)) for k, x in v.items())
    return v


def _hooked(module):
    """Whether ``module`` has forward or backward hooks of its own, or global ones are set."""
    d = module.__dict__
    return bool(d.get("_forward_pre_hooks") or d.get("_forward_hooks") or
                d.get("_backward_hooks") or d.get("_backward_pre_hooks") or _global.active())


class Module(_ModuleHooks, _ModuleTraversal, _ModuleState, _ModuleConvert):
    """Base of every layer: holds Parameters, buffers and sub-Modules; stores no activations.

    Assigning a Parameter or Module to an attribute registers it. ``forward`` does the work;
    calling the module runs the forward pre-hooks, ``forward`` (raw backend arrays given as
    arguments are wrapped as Tensors) and the forward hooks.
    """

    # Sequential's one reordering (see there): ReLU sets the first, max pooling without
    # indices the second
    _max_pool_commutes = False
    _max_pool_plain = False
    _optional_state = ()  # state_dict keys that load_state_dict may find absent (BatchNorm)
    dump_patches = False  # PyTorch's class flags, read by some libraries
    call_super_init = False

    def __new__(cls, *args, **kwargs):
        # the recipe: Python passes the constructor's arguments to __new__ as to __init__;
        # no subclass has to cooperate (copy.deepcopy calls __new__ bare, then copies it).
        # Lists, tuples and dicts are copied as the constructor got them; Modules among them
        # are held weakly (ArgModule), so a template layer is not kept alive by the recipe
        self = super().__new__(cls)
        object.__setattr__(self, "_recipe", (tuple(_recipe_value(a) for a in args),
                                             {k: _recipe_value(v) for k, v in kwargs.items()}))
        return self

    def __init__(self):
        put = object.__setattr__
        for name in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks",
                     "_forward_hooks", "_backward_pre_hooks", "_backward_hooks"):
            put(self, name, OrderedDict())
        put(self, "_non_persistent", set())
        put(self, "_hook_flags", {})  # hook id -> (with_kwargs, always_call)
        put(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):  # plain attributes may come first
                kind = "parameter" if isinstance(value, Parameter) else "module"
                raise AttributeError(f"cannot assign {kind} before Module.__init__() call "
                                     f"({type(self).__name__}: call super().__init__() "
                                     f"before assigning the {type(value).__name__} {name!r})")
            object.__setattr__(self, name, value)
            return
        params, mods, bufs = self._parameters, self._modules, self._buffers
        if isinstance(value, Module) and name in params:
            raise TypeError(f"{type(self).__name__}.{name} is a Parameter; cannot assign a "
                            f"{type(value).__name__} to it (xpnn.nn.Parameter or None "
                            "expected)")
        if isinstance(value, Parameter):
            if name not in params and isinstance(getattr(type(self), name, None), property):
                # a parametrized tensor (nn.utils.parametrize) or another property: PyTorch's
                # register_parameter refuses a name the class already answers
                raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists")
            mods.pop(name, None), bufs.pop(name, None)
            self._non_persistent.discard(name)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None), bufs.pop(name, None)
            self._non_persistent.discard(name)
            mods[name] = value
        elif isinstance(value, Buffer):  # nn.Buffer: registered with its own persistence
            self.register_buffer(name, value, persistent=value.persistent)
            return
        elif name in bufs:
            if value is not None and not isinstance(value, (Tensor, SparseTensor)):
                if not B.is_array(value):
                    raise TypeError(f"cannot assign {type(value).__name__!r} as buffer "
                                    f"{name!r} (Tensor, array or None expected)")
                value = Tensor(value)
            bufs[name] = value
        elif name in params or name in mods:
            if value is not None:
                kind = "Parameter" if name in params else "Module"
                raise TypeError(f"{type(self).__name__}.{name} is a {kind}; cannot assign a "
                                f"{type(value).__name__} to it (xpnn.nn.{kind} or None "
                                "expected)")
            (params if name in params else mods)[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        self.__dict__.get("_non_persistent", set()).discard(name)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not trained (BatchNorm's running mean): in
        ``state_dict`` unless ``persistent=False``; a backend array is wrapped as a Tensor."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(f"{type(self).__name__}.register_buffer", "buffer", name,
                    hasattr(self, name) and name not in self._buffers)
        if tensor is not None and not isinstance(tensor, (Tensor, SparseTensor)):
            if not B.is_array(tensor):
                raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__!r} "
                                f"object to buffer {name!r} (Tensor, array or None required)")
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """Add a Parameter (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(f"{type(self).__name__}.register_parameter", "parameter", name,
                    hasattr(self, name) and name not in self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign {type(param).__name__!r} "
                            f"object to parameter {name!r} (xpnn.nn.Parameter or None "
                            "required)")
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        """Add a child Module (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        _check_name(f"{type(self).__name__}.add_module", "module", name,
                    hasattr(self, name) and name not in self._modules)
        if module is None:
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    # -- calling and hooks ------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        args = tuple(Tensor(a) if B.is_array(a) else a for a in args)
        if _hooked(self):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        # the global hooks (module_global_hooks.py) first, as PyTorch; handle ids are unique
        flags = {**_global.FLAGS, **self._hook_flags}
        for hid, hook in list(_global.FORWARD_PRE.items()) + list(self._forward_pre_hooks.items()):
            if flags.get(hid, (False, False))[0]:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("forward pre-hook registered with with_kwargs=True "
                                           "must return None or (new_args, new_kwargs), got "
                                           f"{type(res).__name__}")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            bw = BackwardHookCall(self)
            args = bw.wrap_inputs(args)
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            for hid, hook in list(_global.FORWARD.items()) + list(self._forward_hooks.items()):
                with_kwargs, always = flags.get(hid, (False, False))
                if always:
                    try:
                        hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
                    except Exception:  # noqa: BLE001 - the forward's own error is what matters
                        pass
            raise
        for hid, hook in list(_global.FORWARD.items()) + list(self._forward_hooks.items()):
            with_kwargs = flags.get(hid, (False, False))[0]
            res = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
            if res is not None:
                out = res
        return out if bw is None else bw.wrap_outputs(out)

    # -- mode, device, dtype, gradients -------------------------------------------------
    def train(self, mode=True):
        """Set training mode here and (through their own ``train``) in every child."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: training mode is expected to be "
                             f"boolean, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def compile(self, *args, **kwargs):
        """PyTorch's in-place ``Module.compile``: checks the options of
        :func:`xpnn.compile` and changes nothing (xpnn has no compiler); returns None."""
        from .._compile import compile
        compile(self, *args, **kwargs)


    def get_submodule(self, target):
        """The submodule at a dotted path ("encoder.layers.0"); "" is this module."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if not isinstance(mod.__dict__.get(part), Module):
                if part in mod._modules or not hasattr(mod, part):
                    raise AttributeError(f"{mod._get_name()} has no attribute `{part}` "
                                         f"(looking for submodule {target!r})")
                raise AttributeError(f"`{part}` is not an nn.Module")
            mod = mod.__dict__[part]
        return mod

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._parameters or mod._parameters[name] is None:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]

    def get_buffer(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers or mod._buffers[name] is None:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # -- repr -------------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside the parentheses of this module's repr (override to show the
        constructor's settings, as torch.nn layers do)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = ["(" + name + "): " + repr(m).replace("\n", "\n  ")
                       for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"



# the methods of Module's bases print as Module's, as PyTorch's do
# (<generator object Module.named_parameters ...>, Module.state_dict in tracebacks)
for _base in Module.__mro__[1:-1]:
    for _name, _fn in vars(_base).items():
        if callable(getattr(_fn, "__func__", _fn)) and hasattr(_fn, "__qualname__"):
            _fn.__qualname__ = f"Module.{_name}"


class Identity(Module):
    """Returns its input unchanged."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


def new_parameter(shape, backend=None, device=None, dtype=None):
    """A zero Parameter of ``shape`` on a backend (default: the default backend and dtype)."""
    be, dt = placement(backend, device, dtype)
    if not be.xp.isdtype(dt, "real floating"):
        raise TypeError(f"parameters must be floating point, got dtype {dtype!r}")
    if be.is_meta:  # no memory for the values (xpnn/backend_meta.py)
        return Parameter(meta_empty(shape, dt))
    return Parameter(be.xp.zeros(shape, dtype=dt, device=be.device))
