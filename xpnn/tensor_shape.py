"""Tensor's shape methods: reshape/view, transposes and permutations, squeeze/expand,
splitting, tiling, flips and rolls, and the in-place reshapes (``squeeze_``, ``t_``,
``resize_``, ...). Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

import math

from . import functional as F
from ._errors import ShapeError
from .autograd import TensorBase, is_inference_mode_enabled
from .functional import layout as _layout
from .functional.complex import conj as _conj
from .functional.scalar_args import int_list_arg
from .functional.shape import _dims, _sizes


def _new_view(base, out):
    """``out``, or a new view of ``base`` where the reshape kept its shape and returned
    ``base`` itself: PyTorch's ``x.view(x.shape)`` is another tensor (a hook or retain_grad
    on it must not land on ``x``)."""
    if out is not base:
        return out
    from .autograd import link_view
    from .functional.shape import Reshape
    return link_view(base, Reshape.apply(base, shape=base.shape), "reshape", None)


def _H(self):
    """The conjugate transpose of a matrix (``mT`` of a real 2-D tensor), as ``Tensor.H``."""
    if self.ndim > 2:
        raise RuntimeError(f"H: only supported on matrices (2-D tensors), got a "
                           f"{self.ndim}-D tensor; use mH for batches of matrices")
    return _conj(self.t())


class ShapeMethods:
    """The shape methods of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def reshape(self, *args, shape=None):
        return _new_view(self, F.reshape(self, *_sizes("reshape", args, "shape", shape)))

    def view(self, *args, size=None, dtype=None):
        if dtype is not None:
            if args or size is not None:
                raise TypeError("view(): takes a size or a dtype, not both")
            args = (dtype,)
        shape = _sizes("view", args, "size", size)
        if len(shape) == 1 and isinstance(shape[0], TensorBase):  # sizes as a tensor
            shape = (int_list_arg(shape[0]),)
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
            return self.to(dtype=shape[0])  # view(dtype): a cast here, not a bit view
        return _new_view(self, F.reshape(self, *shape))

    def view_as(self, other):
        return F.reshape(self, other.shape)

    def reshape_as(self, other):
        return F.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return F.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return F.unflatten(self, dim, sizes)

    def permute(self, *args, dims=None):
        return F.permute(self, *_sizes("permute", args, "dims", dims))

    def transpose(self, dim0, dim1):
        return F.transpose(self, dim0, dim1)

    swapaxes = swapdims = transpose

    def t(self):
        return F.t(self)

    @property
    def T(self):
        return F.permute(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        if self.ndim < 2:
            raise ShapeError(f"tensor.mT is only supported on matrices or batches of "
                             f"matrices. Got {self.ndim}-D tensor.")
        return F.transpose(self, -2, -1)

    @property
    def mH(self):  # the conjugate transpose (mT for real dtypes)
        return _conj(F.transpose(self, -2, -1))

    def movedim(self, source, destination):
        return F.movedim(self, source, destination)

    def squeeze(self, dim=None):
        return F.squeeze(self, dim)

    def unsqueeze(self, dim):
        return F.unsqueeze(self, dim)

    def expand(self, *args, size=None):
        return F.expand(self, *_sizes("expand", args, "size", size))

    def expand_as(self, other):
        return F.expand(self, other.shape)

    def narrow(self, dim, start, length):
        return F.narrow(self, dim, start, length)

    def split(self, split_size, dim=0):
        return F.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return F.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return F.unbind(self, dim)

    def repeat(self, *args, repeats=None):
        """Tile the tensor ``sizes`` times along each dim (PyTorch's ``repeat``: at least
        one count per dim, unlike ``tile``)."""
        sizes = _dims("repeat", _sizes("repeat", args, "repeats", repeats))
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: {len(sizes)} repeat counts {sizes} for a tensor of "
                             f"shape {self.shape}: give at least one per dim")
        return F.tile(self, sizes)

    def tile(self, *args, dims=None):
        return F.tile(self, _dims("tile", _sizes("tile", args, "dims", dims)))

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return F.repeat_interleave(self, repeats, dim, output_size=output_size)

    def ravel(self):
        return F.ravel(self)

    def rot90(self, k=1, dims=(0, 1)):
        return F.rot90(self, k, dims)

    def tensor_split(self, indices_or_sections=None, dim=0, *, sections=None, indices=None):
        return F.tensor_split(self, indices_or_sections, dim, sections=sections,
                              indices=indices)

    def hsplit(self, indices_or_sections=None, *, sections=None, indices=None):
        return F.hsplit(self, indices_or_sections, sections=sections, indices=indices)

    def vsplit(self, indices_or_sections=None, *, sections=None, indices=None):
        return F.vsplit(self, indices_or_sections, sections=sections, indices=indices)

    def dsplit(self, indices_or_sections=None, *, sections=None, indices=None):
        return F.dsplit(self, indices_or_sections, sections=sections, indices=indices)

    def flip(self, *args, dims=None):
        return F.flip(self, _dims("flip", _sizes("flip", args, "dims", dims)))

    def fliplr(self):
        return F.fliplr(self)

    def flipud(self):
        return F.flipud(self)

    def roll(self, shifts, dims=None):
        return F.roll(self, shifts, dims)

    def unfold(self, dimension, size, step):
        """Sliding windows along ``dimension`` as a new last dim (``torch.Tensor.unfold``)."""
        return _layout.windows(self, dimension, size, step)

    def split_with_sizes(self, split_sizes, dim=0):
        return F.split(self, list(split_sizes), dim)

    def _reshaped_(self, op, fn, *args):
        """self = fn(self, *args) for an op that changes the shape (squeeze_, t_, ...): the
        tensor is rebound to the result (in the graph where it is recorded). Views and
        tensors with live views refuse: xpnn could not keep them linked."""
        if self._inf is True and not is_inference_mode_enabled():
            raise RuntimeError(f"{op}: Inplace update to inference tensor outside "
                               "InferenceMode is not allowed. You can make a clone to get a "
                               "normal tensor before doing inplace update.")
        if self._view is not None or self._views:
            raise RuntimeError(f"{op}: not supported on a view or a tensor that has views in "
                               f"xpnn; use the out-of-place {op[:-1]}()")
        if self._node is None:
            self.array = fn(self.detach(), *args).array
        else:
            new = fn(self._shallow(), *args)
            self.array, self._node, self._idx = new.array, new._node, new._idx
        self._vc[0] += 1
        return self

    def squeeze_(self, dim=None):
        return self._reshaped_("squeeze_", ShapeMethods.squeeze, dim)

    def unsqueeze_(self, dim):
        return self._reshaped_("unsqueeze_", ShapeMethods.unsqueeze, dim)

    def t_(self):
        return self._reshaped_("t_", ShapeMethods.t)

    def transpose_(self, dim0, dim1):
        return self._reshaped_("transpose_", ShapeMethods.transpose, dim0, dim1)

    swapaxes_ = swapdims_ = transpose_

    def resize_(self, *args, size=None):
        """Reshape to ``sizes`` when the element count stays (PyTorch's resize_ may also grow
        or shrink the storage; xpnn refuses that)."""
        size = _dims("resize_", _sizes("resize_", args, "size", size))
        if math.prod(size) != math.prod(self.shape):
            raise RuntimeError(f"resize_: xpnn resizes only to the same number of elements "
                               f"({math.prod(self.shape)}), got size {size}")
        return self._reshaped_("resize_", ShapeMethods.reshape, size)

    def resize_as_(self, other):
        return self.resize_(tuple(other.shape))

    H = property(_H)
    unsafe_chunk, unsafe_split = chunk, split
    unsafe_split_with_sizes = split_with_sizes
