"""Tensor's reductions, scans, sorting and counting methods (``x.sum(dim=1)``,
``x.max(dim=0)``, ``x.cumsum(0)``, ``x.sort()``, ``x.unique()``, ...): each calls the
``xpnn.functional`` op of that name. Part of :class:`xpnn.tensor.Tensor`."""
from __future__ import annotations

from . import functional as F
from .functional.shape import _dims


class ReduceMethods:
    """The reductions, scans and sorts of :class:`xpnn.Tensor`."""

    __slots__ = ()

    def count_nonzero(self, dim=None):
        return F.count_nonzero(self, dim)

    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return F.sum(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return F.mean(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def prod(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return F.prod(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        return F.var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                     keepdims=keepdims)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        return F.std(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                     keepdims=keepdims)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def norm(self, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.norm(self, p, dim, keepdim, axis=axis, keepdims=keepdims)

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.all(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return F.any(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def cumsum(self, dim, *, dtype=None):
        return F.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, *, dtype=None):
        return F.cumprod(self, dim, dtype=dtype)

    def logcumsumexp(self, dim):
        return F.logcumsumexp(self, dim)

    def cummax(self, dim):
        return F.cummax(self, dim)

    def cummin(self, dim):
        return F.cummin(self, dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return F.diff(self, n, dim, prepend, append)

    def median(self, dim=None, keepdim=False):
        return F.median(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        return F.nanmedian(self, dim, keepdim)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return F.kthvalue(self, k, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return F.mode(self, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return F.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return F.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return F.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return F.nanmean(self, dim, keepdim, dtype=dtype)

    def aminmax(self, *, dim=None, keepdim=False):
        return F.aminmax(self, dim=dim, keepdim=keepdim)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return F.unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return F.unique_consecutive(self, return_inverse, return_counts, dim)

    def bincount(self, weights=None, minlength=0):
        return F.bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0):
        return F.histc(self, bins, min, max)

    def msort(self):
        return F.msort(self)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return F.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        return F.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return F.argsort(self, dim, descending, stable)

    def sum_to_size(self, *size):
        """The sum of this tensor down to ``size``, a shape it broadcasts from
        (``torch.Tensor.sum_to_size``)."""
        size = _dims("sum_to_size", size)
        lead = self.ndim - len(size)
        if lead < 0 or any(s != 1 and s != d for s, d in zip(size, self.shape[lead:])):
            raise RuntimeError(f"sum_to_size: size {size} is not expandable to the tensor's "
                               f"size {tuple(self.shape)}")
        dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                          if s == 1 and self.shape[lead + i] != 1)
        out = F.sum(self, dim=dims, keepdim=True) if dims else self
        return F.reshape(out, size)
