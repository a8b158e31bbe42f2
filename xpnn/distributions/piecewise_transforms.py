"""The piecewise transforms of ``torch.distributions.transforms``: CatTransform and
StackTransform apply a sequence of transforms to the slices of one dim (concatenated or
stacked), over their shared base _PiecewiseTransform, with the constraints they report."""
from __future__ import annotations

from .. import functional as F
from ._transform_base import Transform
from .constraints import _CatConstraint, _StackConstraint
from .distribution import sum_rightmost

__all__ = ["CatTransform", "StackTransform"]


class _PiecewiseTransform(Transform):
    """Shared by CatTransform and StackTransform: ``tseq[i]`` applied to piece i of
    ``dim``."""

    def __init__(self, tseq, dim, cache_size):
        tseq = list(tseq)
        if not all(isinstance(t, Transform) for t in tseq):
            raise TypeError(f"{type(self).__name__}: expected a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms, self.dim = tseq, dim

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)


class CatTransform(_PiecewiseTransform):
    """``tseq[i]`` applied to the i-th slice of ``dim`` of sizes ``lengths`` (1 each by
    default), the results concatenated, as ``torch.distributions.CatTransform``."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        super().__init__(tseq, dim, cache_size)
        lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(lengths) != len(self.transforms):
            raise ValueError(f"CatTransform: {len(lengths)} lengths for "
                             f"{len(self.transforms)} transforms")
        self.lengths = lengths

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def domain(self):
        return _cat_constraint([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return _cat_constraint([t.codomain for t in self.transforms], self.dim,
                               self.lengths)

    def _copy(self, cache_size):
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _pieces(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"CatTransform: dim {self.dim} out of range for input of shape "
                             f"{tuple(x.shape)}")
        if x.shape[self.dim] != sum(self.lengths):
            raise ValueError(f"CatTransform: input of shape {tuple(x.shape)} has size "
                             f"{x.shape[self.dim]} at dim {self.dim}, lengths sum to "
                             f"{sum(self.lengths)}")
        out, start = [], 0
        for n in self.lengths:
            out.append(x.narrow(self.dim, start, n))
            start += n
        return out

    def _call(self, x):
        return F.cat([t(p) for t, p in zip(self.transforms, self._pieces(x))], self.dim)

    def _inverse(self, y):
        return F.cat([t.inv(p) for t, p in zip(self.transforms, self._pieces(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        event_dim = self.event_dim
        for t, a, b in zip(self.transforms, self._pieces(x), self._pieces(y)):
            term = t.log_abs_det_jacobian(a, b)
            term = sum_rightmost(term, event_dim - t.event_dim)
            parts.append(term)
        dim = self.dim if self.dim < 0 else self.dim - x.ndim
        if dim + event_dim >= 0:  # cat dim inside the event: the parts add up
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            return total
        return F.cat(parts, dim + event_dim)


def _cat_constraint(cs, dim, lengths):
    return _CatConstraint(cs, dim, lengths)


class StackTransform(_PiecewiseTransform):
    """``tseq[i]`` applied to index i of ``dim``, the results stacked, as
    ``torch.distributions.StackTransform`` (elementwise transforms)."""

    def __init__(self, tseq, dim=0, cache_size=0):
        super().__init__(tseq, dim, cache_size)

    def _copy(self, cache_size):
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"StackTransform: dim {self.dim} out of range for input of "
                             f"shape {tuple(x.shape)}")
        if x.shape[self.dim] != len(self.transforms):
            raise ValueError(f"StackTransform: input of shape {tuple(x.shape)} has size "
                             f"{x.shape[self.dim]} at dim {self.dim}, expected "
                             f"{len(self.transforms)}")
        return [x.select(self.dim, i) for i in range(len(self.transforms))]

    def _call(self, x):
        return F.stack([t(s) for t, s in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y):
        return F.stack([t.inv(s) for t, s in zip(self.transforms, self._slices(y))],
                       self.dim)

    def log_abs_det_jacobian(self, x, y):
        return F.stack([t.log_abs_det_jacobian(a, b) for t, a, b in
                        zip(self.transforms, self._slices(x), self._slices(y))], self.dim)

    @property
    def domain(self):
        return _StackConstraint([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return _StackConstraint([t.codomain for t in self.transforms], self.dim)
