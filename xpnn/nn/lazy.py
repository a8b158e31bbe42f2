"""Lazy modules: layers whose input size is read from their first input (torch.nn's Lazy*).

A lazy layer starts with shapeless placeholders (``UninitializedParameter``/``Buffer``,
nn/parameter.py). Its first call reads the input size, materializes each placeholder in
place on the input's backend and device (in the layer's dtype), initialises it exactly as
the regular layer would (the same draws from the same seed), and the object becomes the
regular class (``cls_to_become``: ``type(m)`` is then ``Linear``, as in PyTorch). Because
the Parameter objects stay the same, an optimizer built before the first call trains them.
``load_state_dict`` into a lazy layer materializes from the loaded shapes.
"""
from __future__ import annotations

import inspect
from itertools import chain

from .. import backend as B
from ..tensor import Tensor
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .module import Module, check_int
from .norm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,
                   InstanceNorm3d)
from .parameter import UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class LazyModuleMixin:
    """Mixed in before a regular layer class: placeholders until the first call.

    Subclasses set ``cls_to_become`` and ``_lazy_arg`` (the constructor argument inferred:
    "in_features", "in_channels", "num_features") and write ``initialize_parameters(input)``
    and ``_size_from_state()`` (that argument read back from materialized tensors).
    """

    cls_to_become = None
    _lazy_arg = None

    def has_uninitialized_params(self):
        """Whether a parameter or buffer of this module (not its children) is a placeholder."""
        return any(is_lazy(t) for t in chain(self._parameters.values(),
                                             self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def reset_parameters(self):
        # nothing to draw while building or while placeholders remain
        if not self.__dict__.get("_lazy_building") and not self.has_uninitialized_params():
            super().reset_parameters()

    def __call__(self, *args, **kwargs):
        args = tuple(Tensor(a) if B.is_array(a) else a for a in args)
        self._infer_parameters(args, kwargs)
        return Module.__call__(self, *args, **kwargs)

    def _infer_parameters(self, args, kwargs):
        """The first call (PyTorch's forward pre-hook of the same name): materialize, check,
        then become the regular class, whose constructor recipe (for xpnn.save) gets the
        inferred size."""
        self.initialize_parameters(*args, **kwargs)
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        sig = inspect.signature(type(self).__init__)
        rargs, rkwargs = self.__dict__.get("_recipe", ((), {}))
        ba = sig.bind(self, *rargs, **rkwargs)
        ba.apply_defaults()  # the lazy defaults (InstanceNorm's affine) are not the regular's
        bound = dict(ba.arguments)
        bound.pop(next(iter(sig.parameters)))  # self
        recipe = {self._lazy_arg: getattr(self, self._lazy_arg), **bound}
        object.__setattr__(self, "_recipe", ((), recipe))
        self.__class__ = self.cls_to_become

    def _lazy_load_hook(self, state_dict, prefix):
        """Called by ``Module.load_state_dict`` before loading: each placeholder whose key is
        in ``state_dict`` (with values, not a placeholder) takes the loaded shape on this
        module's backend."""
        done = False
        for name, t in chain(self._parameters.items(), self._buffers.items()):
            value = state_dict.get(prefix + name)
            if t is None or value is None or not is_lazy(t) or is_lazy(value):
                continue
            t.materialize(tuple(value.shape))
            done = True
        if done:
            size = self._size_from_state()
            if size is not None:
                setattr(self, self._lazy_arg, size)

    def _lazy_start(self, names, bufs, backend, device, dtype):
        """Replace the named parameters and buffers (those not None) by placeholders."""
        for name in names:
            if getattr(self, name) is not None:
                setattr(self, name, UninitializedParameter(device=device, dtype=dtype,
                                                           backend=backend))
        for name in bufs:
            if getattr(self, name) is not None:
                setattr(self, name, UninitializedBuffer(device=device, dtype=dtype,
                                                        backend=backend))
        setattr(self, self._lazy_arg, 0)
        del self.__dict__["_lazy_building"]

    def _replicate_for_data_parallel(self):
        raise RuntimeError("Modules with uninitialized parameters can't be used with "
                           "DataParallel; run a forward pass with a sample batch first")


def _building(module):
    object.__setattr__(module, "_lazy_building", True)


def _input(layer, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor or a backend array as input, got "
                        f"{type(x).__name__}")
    return x


# -- Linear ---------------------------------------------------------------------------------
class LazyLinear(LazyModuleMixin, Linear):
    """:class:`Linear` whose ``in_features`` is the first input's last dim.

    Args:
        out_features: int >= 1.
        bias: learn an additive bias.
        device, dtype, backend: where the values go if the input does not decide (the
            input's backend and device win; the dtype is kept).
    """

    cls_to_become = Linear
    _lazy_arg = "in_features"

    def __init__(self, out_features, bias=True, device=None, dtype=None, *, backend=None):
        Module.__init__(self)
        _building(self)
        self.out_features = check_int("LazyLinear", "out_features", out_features)
        self.weight = UninitializedParameter()
        self.bias = UninitializedParameter() if bias else None
        self._lazy_start(("weight", "bias"), (), backend, device, dtype)

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        x = _input("LazyLinear", input)
        if x.ndim == 0:
            raise ValueError(f"LazyLinear: input must have at least 1 dim (features last), "
                             f"got shape {tuple(x.shape)}")
        self.in_features = x.shape[-1]
        self.weight.materialize((self.out_features, self.in_features), backend=x._be)
        if self.bias is not None:
            self.bias.materialize((self.out_features,), backend=x._be)
        self.reset_parameters()

    def _size_from_state(self):
        return None if is_lazy(self.weight) else self.weight.shape[1]


# -- convolutions ----------------------------------------------------------------------------
class _LazyConvMixin(LazyModuleMixin):
    """LazyConv*: in_channels from the first input's channel dim (dim 1, or 0 unbatched)."""

    _lazy_arg = "in_channels"

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, *, backend=None):
        _building(self)  # the regular constructor checks every argument; groups is a valid
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, backend=backend, device=device,
                         dtype=dtype)  # stand-in in_channels, replaced below
        self._lazy_start(("weight", "bias"), (), backend, device, dtype)

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        name, nd = type(self).__name__, self.nd
        x = _input(name, input)
        if x.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D "
                             f"(batched) input, got shape {tuple(x.shape)}")
        c = x.shape[1] if x.ndim == nd + 2 else x.shape[0]
        if c % self.groups:
            raise ValueError(f"{name}: in_channels {c} (from the input of shape {tuple(x.shape)}) "
                             f"must be divisible by groups={self.groups}")
        self.in_channels = c
        g, k = self.groups, self.kernel_size
        shape = (c, self.out_channels // g) + k if self.transposed else \
            (self.out_channels, c // g) + k
        self.weight.materialize(shape, backend=x._be)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,), backend=x._be)
        self.reset_parameters()

    def _size_from_state(self):
        if is_lazy(self.weight):
            return None
        return self.weight.shape[0] if self.transposed else self.weight.shape[1] * self.groups


class _LazyConvTransposeMixin(_LazyConvMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None, *, backend=None):
        _building(self)
        super(_LazyConvMixin, self).__init__(groups, out_channels, kernel_size, stride,
                                             padding, output_padding, groups, bias, dilation,
                                             padding_mode, backend=backend, device=device,
                                             dtype=dtype)
        self._lazy_start(("weight", "bias"), (), backend, device, dtype)


class LazyConv1d(_LazyConvMixin, Conv1d):
    """:class:`Conv1d` whose in_channels is read from the first input."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConvMixin, Conv2d):
    """:class:`Conv2d` whose in_channels is read from the first input."""
    cls_to_become = Conv2d


class LazyConv3d(_LazyConvMixin, Conv3d):
    """:class:`Conv3d` whose in_channels is read from the first input."""
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposeMixin, ConvTranspose1d):
    """:class:`ConvTranspose1d` whose in_channels is read from the first input."""
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeMixin, ConvTranspose2d):
    """:class:`ConvTranspose2d` whose in_channels is read from the first input."""
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeMixin, ConvTranspose3d):
    """:class:`ConvTranspose3d` whose in_channels is read from the first input."""
    cls_to_become = ConvTranspose3d


# -- normalization ---------------------------------------------------------------------------
class _LazyNormMixin(LazyModuleMixin):
    """LazyBatchNorm*/LazyInstanceNorm*: num_features from the input's channel dim. Their
    defaults are PyTorch's for the lazy forms: affine and running statistics on (the regular
    InstanceNorm has both off)."""

    _lazy_arg = "num_features"
    _unbatched = False  # InstanceNorm takes (C, ...) too

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True, backend=None):
        Module.__init__(self)
        _building(self)
        self._setup(1, eps, momentum, affine, track_running_stats, bias, backend, device,
                    dtype)
        self._lazy_start(("weight", "bias"), ("running_mean", "running_var"), backend,
                         device, dtype)

    def initialize_parameters(self, input, *args, **kwargs):
        name = type(self).__name__
        x = _input(name, input)
        if self.num_features:
            return
        if x.ndim < 2 - self._unbatched:
            raise ValueError(f"{name}: expected an input with a channel dim, got shape "
                             f"{tuple(x.shape)}")
        unbatched = self._unbatched and x.ndim == self.spatial + 1
        # set even without placeholders (affine=False, no running statistics), so the
        # regular layer's channel check passes
        self.num_features = x.shape[0] if unbatched else x.shape[1]
        if not self.has_uninitialized_params():
            return
        shape, be = (self.num_features,), x._be
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            if t is not None:
                t.materialize(shape, backend=be)
        if self.running_var is not None:
            self.running_var.fill_(1.0)
        nbt = self.num_batches_tracked
        if nbt is not None and nbt._be is not be:
            self.num_batches_tracked = be.xp.zeros((), dtype=be.xp.int64, device=be.device)
        self.reset_parameters()

    def _size_from_state(self):
        for t in (self.weight, self.running_mean):
            if t is not None and not is_lazy(t):
                return t.shape[0]
        return None


class LazyBatchNorm1d(_LazyNormMixin, BatchNorm1d):
    """:class:`BatchNorm1d` whose num_features is the first input's dim 1."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormMixin, BatchNorm2d):
    """:class:`BatchNorm2d` whose num_features is the first input's dim 1."""
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormMixin, BatchNorm3d):
    """:class:`BatchNorm3d` whose num_features is the first input's dim 1."""
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormMixin, InstanceNorm1d):
    """:class:`InstanceNorm1d` whose num_features is the first input's channel dim."""
    cls_to_become = InstanceNorm1d
    _unbatched = True


class LazyInstanceNorm2d(_LazyNormMixin, InstanceNorm2d):
    """:class:`InstanceNorm2d` whose num_features is the first input's channel dim."""
    cls_to_become = InstanceNorm2d
    _unbatched = True


class LazyInstanceNorm3d(_LazyNormMixin, InstanceNorm3d):
    """:class:`InstanceNorm3d` whose num_features is the first input's channel dim."""
    cls_to_become = InstanceNorm3d
    _unbatched = True
