"""Parametrizations: a module's tensor computed on access from other tensors (PyTorch's
``torch.nn.utils.parametrize``).

``register_parametrization(m, "weight", P)`` moves ``m.weight`` to
``m.parametrizations.weight.original`` (or ``original0``, ``original1``, ... when
``P.right_inverse`` returns several tensors) and makes ``m.weight`` a property that returns
``P(original)``. As in PyTorch the module's class is swapped for a subclass made for it
(``ParametrizedLinear``) that holds the property, so the state_dict keys, ``repr`` and
``named_parameters`` are PyTorch's; assigning ``m.weight = t`` calls ``right_inverse``.
"""
from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence

from ...autograd import no_grad
from ...tensor import Tensor
from ..container import ModuleDict
from ..module import Module, Parameter
from ..sequential import ModuleList

_cache = {}          # (id(module), name) -> the tensor computed inside cached()
_cache_depth = [0]   # how many cached() blocks are open


@contextlib.contextmanager
def cached():
    """Within the block, each parametrized tensor is computed once, on first access, and
    reused (a weight used at every step of a recurrent loop, or tied weights); the values
    are dropped when the outermost block ends."""
    _cache_depth[0] += 1
    try:
        yield
    finally:
        _cache_depth[0] -= 1
        if not _cache_depth[0]:
            _cache.clear()


def _set(dest, src):
    """Make ``dest`` hold ``src``'s values (PyTorch's ``set_``): in place when shape and
    dtype agree, else by rebinding its array."""
    if tuple(dest.shape) == tuple(src.shape) and dest.dtype == src.dtype:
        if src.array is not dest.array:
            dest._assign(src.array)
    else:
        dest._set_array(src.array)
        dest._bump()


def _register(module, name, tensor):
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


def _check_like(what, got, shape, dtype):
    """Refuse a parametrization result whose dtype or shape differs (``unsafe=False``)."""
    if not isinstance(got, Tensor):
        raise ValueError(f"{what} must return a Tensor, got {type(got).__name__}")
    if got.dtype != dtype:
        raise ValueError(f"{what} may not change the dtype of the tensor unless unsafe=True: "
                         f"{dtype} before, {got.dtype} after")
    if tuple(got.shape) != tuple(shape):
        raise ValueError(f"{what} may not change the shape of the tensor unless unsafe=True: "
                         f"{tuple(shape)} before, {tuple(got.shape)} after")


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the tensor(s) they start
    from: ``original``, or ``original0``, ``original1``, ... when the first registered
    parametrization's ``right_inverse`` returns a sequence. Made by
    :func:`register_parametrization`, not by users.

    Args:
        modules: the parametrizations (Modules), at least one.
        original: the Parameter or buffer being parametrized.
        unsafe: skip the check that the parametrized tensor keeps its shape and dtype.
    """

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError(f"register_parametrization: right_inverse must return a Tensor "
                             f"or a sequence of Tensors, got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != dtype or new._be is not original._be:
                raise ValueError(f"register_parametrization: a right_inverse returning one "
                                 f"tensor may not change its dtype or device: {dtype} on "
                                 f"{original.device} before, {new.dtype} on {new.device} "
                                 "after")
            with no_grad():
                _set(original, new)
            _register(self, "original", original)
        else:
            for i, t in enumerate(new):
                if not isinstance(t, Tensor):
                    raise ValueError(f"register_parametrization: right_inverse returned a "
                                     f"{type(t).__name__} as item {i}; expected Tensors")
                if isinstance(original, Parameter):
                    t = Parameter(t, original.requires_grad)
                else:
                    t = t.detach().requires_grad_(original.requires_grad)
                _register(self, f"original{i}", t)
        if not self.unsafe:
            _check_like("register_parametrization: a parametrization", self(), shape, dtype)

    def right_inverse(self, value):
        """Store ``value`` through the parametrizations' ``right_inverse`` (last first) in
        ``original`` (or ``original0``, ``original1``, ...), in place."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse, so the parametrized tensor "
                                       "cannot be assigned")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"right_inverse should return a Tensor, got "
                                     f"{type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"right_inverse returned dtype {value.dtype}, while "
                                     f"original has dtype {self.original.dtype}")
                _set(self.original, value)
                return
            if not isinstance(value, Sequence) or len(value) != self.ntensors:
                raise ValueError(f"right_inverse must return a sequence of {self.ntensors} "
                                 f"tensors, got {type(value).__name__}")
            for i, t in enumerate(value):
                dest = getattr(self, f"original{i}")
                if not isinstance(t, Tensor) or t.dtype != dest.dtype:
                    raise ValueError(f"right_inverse: item {i} must be a Tensor of dtype "
                                     f"{dest.dtype} (as original{i}), got "
                                     f"{getattr(t, 'dtype', type(t).__name__)}")
                _set(dest, t)

    def forward(self):
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _copy_with_own_class(self, memo):
    """``copy.deepcopy`` of a parametrized module: the copy gets a class of its own, so that
    removing a parametrization from one of them leaves the other's properties alone."""
    cls = type(self)
    fresh = type(cls.__name__, cls.__bases__,
                 {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")})
    replica = fresh.__new__(fresh)
    memo[id(self)] = replica
    for k, v in self.__dict__.items():
        object.__setattr__(replica, k, copy.deepcopy(v, memo))
    return replica


def _inject_class(module):
    """Give ``module`` a class of its own, a subclass of its class, to hold properties."""
    cls = type(module)
    namespace = {}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _copy_with_own_class
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module, name):
    def get(self):
        plist = self.parametrizations[name]
        if not _cache_depth[0]:
            return plist()
        key = (id(self), name)
        value = _cache.get(key)
        if value is None:
            value = _cache[key] = plist()
        return value

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    setattr(type(module), name, property(get, set_))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to the
    tensor, computed on every access.

    The first parametrization of a tensor moves it to
    ``module.parametrizations[tensor_name].original`` (the same Parameter object, so an
    optimizer built before keeps training it), after ``parametrization.right_inverse``
    if it has one; when that returns a sequence, its items become new Parameters
    ``original0``, ``original1``, ... and ``parametrization(original0, original1, ...)``
    gives the tensor. Later registrations on the same name are applied after the earlier
    ones.

    Args:
        module: the Module holding the tensor.
        tensor_name: the name of a parameter or buffer of ``module`` (or of a tensor
            parametrized already).
        parametrization: a Module whose ``forward`` maps the original to the tensor;
            optionally with ``right_inverse`` (tensor -> original(s)), used at
            registration and when ``module.<tensor_name>`` is assigned.
        unsafe: allow the parametrization to change the tensor's shape or dtype.
    Returns:
        ``module``.
    """
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: parametrization must be a Module, got "
                        f"{type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            _check_like("register_parametrization: a parametrization", x, y.shape, y.dtype)
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    _check_like("register_parametrization: right_inverse", z, y.shape,
                                y.dtype)
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
    elif tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"register_parametrization: {type(module).__name__}."
                             f"{tensor_name} is None; there is no tensor to parametrize")
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(f"register_parametrization: {type(module).__name__} has no "
                         f"parameter, buffer or parametrized tensor named {tensor_name!r}")
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has any parametrization, or (with ``tensor_name``) one on that
    tensor."""
    plists = module.__dict__.get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo :func:`register_parametrization` on ``tensor_name``: the tensor becomes a plain
    parameter (or buffer) again, holding the parametrized value (``leave_parametrized``)
    or the original. With no parametrization left the module gets its class back.

    A tensor parametrized from several originals (weight_norm's g and v) can only be left
    parametrized. Returns ``module``.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                _set(original, getattr(module, tensor_name))
    elif leave_parametrized:
        t = getattr(module, tensor_name).detach()
        original = Parameter(t) if plist.original0.requires_grad else t
    else:
        raise ValueError("remove_parametrizations: cannot leave unparametrized "
                         "(leave_parametrized=False) a tensor parametrized from a sequence "
                         "of tensors")
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module):
    """The class ``module`` had before it was parametrized (its class if it is not)."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "type_before_parametrizations"]
