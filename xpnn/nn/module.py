"""Module, Parameter and the containers (Sequential, ModuleList, Identity)."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

from .. import backend as B
from ..autograd import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _is_floating(arr):
    return B.backend_of(arr).xp.isdtype(arr.dtype, "real floating")


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

    def register_buffer(self, name, array, persistent=True):
        """A non-trainable array saved in the state dict (e.g. BatchNorm's running mean)."""
        self._buffers[name] = array
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        object.__setattr__(self, name, array)

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

    def state_dict(self):
        """{dotted name: backend array}, parameters and persistent buffers, PyTorch names."""
        out = OrderedDict()
        for key, mod, name, is_param in self._state_slots():
            value = getattr(mod, name)
            out[key] = value.data if is_param else value
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
            current = current.data if is_param else current
            value = value.data if isinstance(value, Tensor) else value
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
            if is_param:
                getattr(mod, name).data = arr
            else:
                mod._buffers[name] = arr
                object.__setattr__(mod, name, arr)
        return IncompatibleKeys(missing, unexpected)

    # -- mode, device ---------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def to(self, backend=None, device=None, dtype=None):
        """Move parameters and buffers to a backend/device and/or cast floats to ``dtype``.

        Gradients are dropped. Returns the module itself.
        """
        for mod in self.modules():
            for name, p in mod._parameters.items():
                if p is None:
                    continue
                be = B.get_backend(backend if backend is not None else p.backend,
                                   device if device is not None or backend is not None
                                   else p.device)
                p.data = _move(p.data, be, dtype)
                p._be, p.grad = be, None
            for name, buf in mod._buffers.items():
                if buf is None:
                    continue
                src = B.backend_of(buf)
                be = B.get_backend(backend if backend is not None else src.name,
                                   device if device is not None or backend is not None
                                   else src.device)
                arr = _move(buf, be, dtype if _is_floating(buf) else None)
                mod._buffers[name] = arr
                object.__setattr__(mod, name, arr)
        return self

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def num_parameters(self):
        return sum(p.size() for p in self.parameters())

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
    if B.backend_of(arr) is be:
        return arr if dtype is None else be.xp.astype(arr, be.dtype(dtype))
    return be.asarray(arr, dtype=dtype if dtype is not None else str(arr.dtype).split(".")[-1])


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


def new_parameter(shape, backend=None, device=None, dtype=None):
    """A zero Parameter of ``shape`` on a backend (default: the default backend, float32)."""
    be = B.get_backend(backend, device)
    dt = be.dtype(dtype if dtype is not None else "float32")
    if not be.xp.isdtype(dt, "real floating"):
        raise TypeError(f"parameters must be floating point, got dtype {dtype!r}")
    return Parameter(be.xp.zeros(shape, dtype=dt, device=be.device))


def check_int(layer, arg, value, minimum=1):
    """Raise at construction, quoting the value, unless ``value`` is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{layer}: {arg} must be an int >= {minimum}, got {value!r}")
    return value
