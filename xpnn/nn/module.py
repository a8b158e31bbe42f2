"""Module, Parameter and the containers (Sequential, ModuleList, Identity)."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

from .. import backend as B
from ..tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:  # PyTorch: Parameter() is an empty float tensor
            be = B.default_backend()
            data = be.xp.empty((0,), dtype=be.dtype(B.get_default_dtype()), device=be.device)
        if isinstance(data, Tensor):
            data = data.array
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base of every layer: holds Parameters, buffers and sub-Modules; stores no activations.

    Assigning a Parameter or Module to an attribute registers it. ``forward`` does the work;
    calling the module calls forward, after wrapping raw backend arrays as Tensors.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 "assigning attributes")
        params, mods, bufs = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            mods.pop(name, None), bufs.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None), bufs.pop(name, None)
            mods[name] = value
        elif name in bufs:
            if value is not None and not isinstance(value, Tensor) and B.is_array(value):
                value = Tensor(value)
            bufs[name] = value
        elif name in params or name in mods:
            if value is not None:
                kind = "Parameter" if name in params else "Module"
                raise TypeError(f"{type(self).__name__}.{name} is a {kind}; cannot assign a "
                                f"{type(value).__name__} to it")
            (params if name in params else mods)[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A non-trainable tensor saved in the state dict (e.g. BatchNorm's running mean);
        a backend array is wrapped as a Tensor. ``persistent=False`` leaves it out."""
        if tensor is not None and not isinstance(tensor, Tensor):
            if not B.is_array(tensor):
                raise TypeError(f"register_buffer: {name!r} must be a Tensor, an array or "
                                f"None, got {type(tensor).__name__}")
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        skip = self.__dict__.setdefault("_non_persistent", set())
        if persistent:
            skip.discard(name)
        else:
            skip.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        setattr(self, name, param)

    def add_module(self, name, module):
        setattr(self, name, module)

    # -- calling --------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        args = tuple(Tensor(a) if B.is_array(a) else a for a in args)
        return self.forward(*args, **kwargs)

    # -- traversal ------------------------------------------------------------------
    def named_children(self):
        yield from self._modules.items()

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs, each Parameter once even if shared."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix=""):
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    # -- state ----------------------------------------------------------------------
    def _state_slots(self):
        """(key, owner module, attribute name, is_param) in PyTorch's state_dict order."""
        slots = []
        for mod_name, mod in self.named_modules():
            skip = mod.__dict__.get("_non_persistent", set())
            pre = f"{mod_name}." if mod_name else ""
            slots += [(pre + n, mod, n, True) for n, p in mod._parameters.items()
                      if p is not None]
            slots += [(pre + n, mod, n, False) for n, b in mod._buffers.items()
                      if b is not None and n not in skip]
        return slots

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """{dotted name: Tensor}, parameters and persistent buffers, PyTorch names and layouts.

        As in PyTorch the tensors share the module's arrays (detached from the graph;
        ``keep_vars=True`` gives the Parameters themselves).
        """
        out = OrderedDict() if destination is None else destination
        for key, mod, name, is_param in self._state_slots():
            value = getattr(mod, name)
            if not isinstance(value, Tensor):
                value = Tensor(value)
            out[prefix + key] = value if keep_vars and is_param else value.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (of any backend, NumPy included) into this module's parameters.

        Everything is checked and converted before anything is assigned, so an error
        (missing, unexpected or mis-shaped key) leaves the module unchanged.
        """
        slots = {key: (mod, name, is_param) for key, mod, name, is_param in
                 self._state_slots()}
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in state_dict if k not in slots]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict into {type(self).__name__}: missing keys "
                           f"{missing}, unexpected keys {unexpected}")
        staged = []
        for key, value in state_dict.items():
            if key not in slots:
                continue
            mod, name, is_param = slots[key]
            current = getattr(mod, name)
            current = current.array if isinstance(current, Tensor) else current
            value = value.array if isinstance(value, Tensor) else value
            if tuple(value.shape) != tuple(current.shape):
                raise ValueError(f"load_state_dict: key {key!r} has shape "
                                 f"{tuple(value.shape)} in the state dict but "
                                 f"{tuple(current.shape)} in the model")
            be = B.backend_of(current)
            arr = be.asarray(value, dtype=current.dtype)
            # asarray may alias the caller's array (NumPy, torch from NumPy): optimizers
            # update parameters in place, so the module must own its copy
            staged.append((mod, name, is_param, be.xp.asarray(arr, copy=True)))
        for mod, name, is_param, arr in staged:
            current = getattr(mod, name)
            if isinstance(current, Tensor):
                current._assign(arr)
            else:
                t = Tensor(arr)
                mod._buffers[name] = t
                object.__setattr__(mod, name, t)
        return IncompatibleKeys(missing, unexpected)

    # -- mode, device ---------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def to(self, *args, **kwargs):
        """Move parameters and buffers to a device/backend and/or cast floating ones to a
        dtype, in place; returns the module. The forms of ``Tensor.to``: ``to("cuda")``,
        ``to("torch")``, ``to(xpnn.float64)``, ``to(backend=, device=, dtype=)``.
        Gradients move along."""
        for t, be, dtype, set_to in self._each_tensor(args, kwargs):
            floating = B.backend_of(t.array).is_floating(t.array.dtype)
            arr = _move(t.array, be, dtype if floating else None)
            if arr is not t.array:
                set_to(arr, be)
        return self

    def _each_tensor(self, args, kwargs):
        """(tensor, target backend, dtype, setter) for every parameter and buffer."""
        for mod in self.modules():
            for name, p in mod._parameters.items():
                if p is not None:
                    be, dtype = B.resolve_to(p._be, args, kwargs, "Module.to")
                    yield p, be, dtype, _param_setter(p)
            for name, buf in list(mod._buffers.items()):
                if buf is not None:
                    be, dtype = B.resolve_to(buf._be, args, kwargs, "Module.to")
                    yield buf, be, dtype, _param_setter(buf)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else
                       f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def half(self):
        return self.to(dtype="float16")

    def bfloat16(self):
        return self.to(dtype="bfloat16")

    def type(self, dst_type):
        return self.to(dtype=dst_type)

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (or zero it in place with set_to_none=False)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad.new_zeros(p.grad.shape)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on this one."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def get_submodule(self, target):
        """The submodule at a dotted path ("encoder.layers.0")."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} (looking "
                                     f"for {target!r})")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    def get_buffer(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers:
            raise AttributeError(f"{type(mod).__name__} has no buffer {name!r}")
        return mod._buffers[name]

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # -- repr -----------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ")
                 for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _move(arr, be, dtype):
    """``arr`` on ``be`` with ``dtype`` (None: its own); ``arr`` itself if nothing changes."""
    if B.backend_of(arr) is be:
        if dtype is None or B.dtype_name(arr.dtype) == dtype:
            return arr
        return be.xp.astype(arr, be.dtype(dtype))
    return be.asarray(arr, dtype=dtype if dtype is not None else B.dtype_name(arr.dtype))


def _param_setter(t):
    def set_to(arr, be):
        grad = t.grad
        t._grad = None
        t.array, t._be = arr, be
        t._bump()
        if grad is not None:  # the gradient moves along, as in PyTorch
            t.grad = _move(grad.array, be, B.dtype_name(arr.dtype))
    return set_to


class Sequential(Module):
    """Modules applied in order; indexable, iterable, and named "0", "1", ... as in PyTorch."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            modules = list(modules[0].items())
        else:
            modules = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {name} is a {type(m).__name__}, not a "
                                "Module")
            setattr(self, name, m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        setattr(self, str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of Modules whose parameters are registered (named "0", "1", ...)."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: cannot append a {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Identity(Module):
    """Returns its input unchanged."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


def placement(backend=None, device=None, dtype=None):
    """(Backend, floating dtype) for a layer's ``backend=``/``device=``/``dtype=`` arguments:
    the default backend and dtype unless given; ``device`` alone ("cuda") is read as in
    ``Module.to``."""
    be = B.get_backend(backend, device) if backend is not None or device is None else \
        B.resolve_device(B.default_backend(), device)
    return be, be.dtype(B.dtype_name(dtype) if dtype is not None else B.get_default_dtype())


def new_parameter(shape, backend=None, device=None, dtype=None):
    """A zero Parameter of ``shape`` on a backend (default: the default backend and dtype)."""
    be, dt = placement(backend, device, dtype)
    if not be.xp.isdtype(dt, "real floating"):
        raise TypeError(f"parameters must be floating point, got dtype {dtype!r}")
    return Parameter(be.xp.zeros(shape, dtype=dt, device=be.device))


def as_input(x, like=None):
    """A layer's input as a Tensor: Tensors pass, backend arrays are wrapped (as
    ``Module.__call__`` does), other data is refused naming the layer."""
    if isinstance(x, Tensor) or x is None:
        return x
    if B.is_array(x):
        return Tensor(x)
    raise TypeError(f"expected a Tensor or a backend array, got {type(x).__name__}")


def check_int(layer, arg, value, minimum=1):
    """Raise at construction, quoting the value, unless ``value`` is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{layer}: {arg} must be an int >= {minimum}, got {value!r}")
    return value
