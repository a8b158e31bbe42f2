"""The sets that parameters and values of a distribution live in, as
``torch.distributions.constraints``: each has ``check(value)``, a bool Tensor that is True
where ``value`` is inside (one entry per event, so vector constraints reduce the last dim)."""
from __future__ import annotations

from .. import functional as F

__all__ = ["Constraint", "boolean", "corr_cholesky", "dependent", "greater_than", "greater_than_eq",
           "half_open_interval", "integer_interval", "interval", "lower_cholesky",
           "nonnegative", "nonnegative_integer", "one_hot", "positive", "positive_definite",
           "real", "real_vector", "simplex", "unit_interval"]


class Constraint:
    """A region of values. ``event_dim``: how many rightmost dims make one point."""

    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Dependent(Constraint):
    """A constraint that depends on other parameters (checked by the distribution)."""

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


class _Real(Constraint):
    def check(self, value):
        return value == value  # False only at NaN


class _RealVector(_Real):
    event_dim = 1

    def check(self, value):
        return F.all(value == value, dim=-1)


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    """Vectors of zeros and ones with a single one (OneHotCategorical's support)."""

    is_discrete = True
    event_dim = 1

    def check(self, value):
        return F.all((value == 0) | (value == 1), dim=-1) & (value.sum(-1) == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound)

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return self.lower_bound < value

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def check(self, value):
        return self.lower_bound <= value

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    """[lower_bound, upper_bound]."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    """[lower_bound, upper_bound)."""

    def check(self, value):
        return (self.lower_bound <= value) & (value < self.upper_bound)

    def __repr__(self):
        return f"HalfOpenInterval(lower_bound={self.lower_bound}, " \
               f"upper_bound={self.upper_bound})"


class _Simplex(Constraint):
    """Non-negative vectors summing to 1 (within 1e-6)."""

    event_dim = 1

    def check(self, value):
        return F.all(value >= 0, dim=-1) & (F.abs(value.sum(-1) - 1) < 1e-6)


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal."""

    event_dim = 2

    def check(self, value):
        lower = F.all(F.all(F.tril(value) == value, dim=-1), dim=-1)
        return lower & F.all(F.diagonal(value, 0, -2, -1) > 0, dim=-1)


class _PositiveDefinite(Constraint):
    """Symmetric matrices whose Cholesky factorization succeeds (a host check)."""

    event_dim = 2

    def check(self, value):
        from ._linalg import is_positive_definite
        return is_positive_definite(value)


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: lower_cholesky with rows of unit
    norm (within 10 D eps)."""

    event_dim = 2

    def check(self, value):
        from .. import backend as B
        tol = 10 * value.shape[-1] * float(B.np.finfo(B.dtype_name(value.dtype)).eps)
        norm = (value.detach() ** 2).sum(-1).sqrt()
        return lower_cholesky.check(value) & F.all((norm - 1).abs() <= tol, dim=-1)


dependent = _Dependent()
real = _Real()
real_vector = _RealVector()
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
integer_interval = _IntegerInterval
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
corr_cholesky = _CorrCholesky()
