"""torch.nn.parameter: Parameter and the shapeless placeholders of lazy modules.

``UninitializedParameter`` and ``UninitializedBuffer`` stand in for a lazy module's tensors
until its first forward tells their shapes (xpnn/nn/lazy.py). A placeholder knows its dtype,
backend and device and whether it requires grad, but holds no values: reading its data (any
op, ``.shape``, ``.numel()``) raises. ``materialize(shape)`` fills it in place and turns the
object itself into a Parameter (a Tensor for a buffer), as PyTorch's does, so an optimizer
built on the placeholders goes on working with the real tensors.
"""
from __future__ import annotations

from .. import backend as B
from ..tensor import Tensor
from .module import Parameter, placement

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]

_USE = ("Attempted to use an uninitialized {kind} (a lazy module's placeholder, whose shape "
        "is not known yet). Run a forward pass with a sample batch (or load a state dict) to "
        "materialize it first.")


class UninitializedTensorMixin:
    """What both placeholders share. The ``array`` slot holds an empty (0,) array only to
    carry the backend, device and dtype; every read of ``array`` from outside raises."""

    __slots__ = ()
    cls_to_become = None
    _kind = "tensor"
    _lazy_placeholder = True  # how nn/module.py's to() and load_state_dict() recognise one

    def __init__(self, *args, **kwargs):
        pass  # all done in the classes' __new__ (Tensor.__init__ would take the arguments)

    def __getattribute__(self, name):
        if name == "array":
            raise ValueError(_USE.format(kind=object.__getattribute__(self, "_kind")))
        return object.__getattribute__(self, name)

    def _placeholder(self):
        return object.__getattribute__(self, "array")

    @property
    def shape(self):
        raise RuntimeError(f"Can't access the shape of an uninitialized {self._kind}. This "
                           "usually happens in load_state_dict when loading an "
                           "uninitialized one into an initialized module; call forward (or "
                           "load a state dict) to initialize it before reading its attributes.")

    ndim = shape

    @property
    def dtype(self):
        return self._placeholder().dtype

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not self._be.is_floating(self._placeholder().dtype):
            raise RuntimeError("requires_grad_: only Tensors of floating point dtype can "
                               "require gradients")
        self._rg = bool(requires_grad)
        return self

    def detach(self):
        # what state_dict() shows for it: the placeholder itself, as in PyTorch
        return self

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __reduce__(self):
        # a placeholder pickles as one (a lazy module not run yet pickles, as PyTorch's)
        return _rebuild_placeholder, (type(self), self._rg, self._be.name,
                                      B.device_key(self._be),
                                      B.dtype_name(self._placeholder().dtype))

    def __deepcopy__(self, memo):
        t = type(self).__new__(type(self))
        empty = self._placeholder()
        _init_placeholder(t, self._be.xp.asarray(empty, copy=True), self._be, self._rg)
        memo[id(self)] = t
        return t

    def materialize(self, shape, device=None, dtype=None, *, backend=None):
        """Give the placeholder its shape: zeros of ``shape`` on its backend/device (or the
        ``backend``/``device`` given) in its dtype (or ``dtype``); the object becomes a
        ``cls_to_become`` (Parameter, or Tensor for a buffer) in place.

        Args:
            shape: tuple of ints >= 0 (an int for 1-D).
            device, backend: where the values go (default: where the placeholder is).
            dtype: default: the placeholder's.
        """
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in shape):
            raise ValueError(f"{type(self).__name__}.materialize: shape must be ints >= 0, "
                             f"got {shape!r}")
        empty = self._placeholder()
        be, dt = B.resolve_to(self._be, (device,), {"backend": backend, "dtype": dtype},
                              f"{type(self).__name__}.materialize")
        arr = be.xp.zeros(shape, dtype=be.dtype(dt or B.dtype_name(empty.dtype)),
                          device=be.device)
        self.array, self._be = arr, be
        self.__class__ = self.cls_to_become
        self._bump()
        return self

    def _retarget(self, be, dtype):
        """Module.to on a placeholder: the values it will get go to ``be`` / ``dtype``."""
        empty = self._placeholder()
        name = dtype if dtype is not None else B.dtype_name(empty.dtype)
        self.array = be.xp.empty((0,), dtype=be.dtype(name), device=be.device)
        self._be = be
        self._grad = None


def _init_placeholder(t, empty, be, requires_grad):
    t.array, t._be, t._node, t._idx = empty, be, None, 0
    t._grad, t._base, t._hooks, t._view, t._views = None, None, None, None, None
    t._rg, t._vc, t._inf = bool(requires_grad), [0], False


def _new(cls, requires_grad, backend, device, dtype):
    be, dt = placement(backend, device, dtype)
    t = object.__new__(cls)
    _init_placeholder(t, be.xp.empty((0,), dtype=dt, device=be.device), be, requires_grad)
    return t


def _rebuild_placeholder(cls, requires_grad, backend, device, dtype):
    """Unpickle a placeholder: on its backend and device, or on NumPy where they are
    missing here (as Tensor's unpickling)."""
    try:
        be = B.get_backend(backend, device)
    except B.BackendError:
        be = B.get_backend("numpy")
    t = object.__new__(cls)
    _init_placeholder(t, be.xp.empty((0,), dtype=be.dtype(dtype), device=be.device), be,
                      requires_grad)
    return t


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's weight before its first
    forward).

    Args:
        requires_grad: as Parameter's (True).
        device, dtype, backend: where it will live (default: the default backend, float32).
    """

    __slots__ = ()
    cls_to_become = Parameter
    _kind = "parameter"

    def __new__(cls, requires_grad=True, device=None, dtype=None, *, backend=None):
        return _new(cls, requires_grad, backend, device, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy BatchNorm's running statistics)."""

    __slots__ = ()
    cls_to_become = Tensor
    _kind = "buffer"

    def __new__(cls, requires_grad=False, device=None, dtype=None, *, backend=None):
        return _new(cls, requires_grad, backend, device, dtype)


def is_lazy(t):
    """Whether ``t`` is a placeholder not materialized yet."""
    return isinstance(t, UninitializedTensorMixin)
