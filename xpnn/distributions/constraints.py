"""The sets that parameters and values of a distribution live in, as
``torch.distributions.constraints``: each has ``check(value)``, a bool Tensor that is True
where ``value`` is inside (one entry per event, so vector constraints reduce the last dim)."""
from __future__ import annotations

from .. import functional as F

__all__ = ["Constraint", "boolean", "corr_cholesky", "dependent", "greater_than", "greater_than_eq",
           "half_open_interval", "integer_interval", "interval", "lower_cholesky",
           "nonnegative", "nonnegative_integer", "one_hot", "positive", "positive_definite",
           "real", "real_vector", "simplex", "unit_interval", "MixtureSameFamilyConstraint",
           "cat", "dependent_property", "independent", "is_dependent", "less_than",
           "lower_triangular", "multinomial", "positive_integer", "positive_semidefinite",
           "square", "stack", "symmetric"]


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

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete, self.event_dim = is_discrete, event_dim

    def __call__(self, *, is_discrete=False, event_dim=0):
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


class _DependentProperty(property, _Dependent):
    """A property of a distribution class that is also a dependent constraint (a support
    that depends on the parameters), as ``constraints.dependent_property``."""

    def __init__(self, fn=None, *, is_discrete=False, event_dim=0):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


def is_dependent(constraint):
    """Whether ``constraint`` is a dependent one (checked by the distribution itself)."""
    return isinstance(constraint, _Dependent)


class _IndependentConstraint(Constraint):
    """``base_constraint`` over ``reinterpreted_batch_ndims`` more event dims: true where
    every entry of the event is inside."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        if not isinstance(base_constraint, Constraint):
            raise TypeError(f"independent: base_constraint must be a Constraint, got "
                            f"{type(base_constraint).__name__}")
        if isinstance(reinterpreted_batch_ndims, bool) or \
                not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise ValueError(f"independent: reinterpreted_batch_ndims must be an int >= 0, "
                             f"got {reinterpreted_batch_ndims!r}")
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        if ok.ndim < n:
            raise ValueError(f"IndependentConstraint.check: expected value of at least "
                             f"{self.event_dim} dims, got shape {tuple(value.shape)}")
        return F.all(ok.reshape(tuple(ok.shape[:ok.ndim - n]) + (-1,)), dim=-1) if n else ok

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, " \
               f"{self.reinterpreted_batch_ndims})"


class MixtureSameFamilyConstraint(Constraint):
    """The support of a MixtureSameFamily: ``base_constraint`` (its components' support)
    checked on the value against every component."""

    def __init__(self, base_constraint):
        if not isinstance(base_constraint, Constraint):
            raise TypeError(f"MixtureSameFamilyConstraint: base_constraint must be a "
                            f"Constraint, got {type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim

    def check(self, value):
        if value.ndim < self.event_dim:
            raise ValueError(f"MixtureSameFamilyConstraint.check: expected value of at "
                             f"least {self.event_dim} dims, got shape {tuple(value.shape)}")
        ok = self.base_constraint.check(value.unsqueeze(-1 - self.event_dim))
        keep = value.ndim - self.event_dim
        return F.all(ok.reshape(tuple(ok.shape[:keep]) + (-1,)), dim=-1)

    def __repr__(self):
        return f"MixtureSameFamilyConstraint({self.base_constraint!r})"


class _Real(Constraint):
    def check(self, value):
        return value == value  # False only at NaN


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


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


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


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        return F.all(F.all(F.tril(value) == value, dim=-1), dim=-1)


class _Square(Constraint):
    """Matrices with as many rows as columns (a check of the shape only)."""

    event_dim = 2

    def check(self, value):
        from ..creation import full
        return full(tuple(value.shape[:-2]), value.shape[-2] == value.shape[-1],
                    dtype="bool", device=value.device, backend=value._be.name)


class _Symmetric(_Square):
    """Square matrices equal to their transpose (within 1e-6)."""

    def check(self, value):
        square = super().check(value)
        if value.shape[-2] != value.shape[-1]:
            return square
        close = F.abs(value - value.mT) <= 1e-6 + 1e-5 * F.abs(value.mT)
        return F.all(F.all(close, dim=-1), dim=-1)


class _PositiveSemidefinite(_Symmetric):
    """Symmetric matrices with no negative eigenvalue."""

    def check(self, value):
        sym = super().check(value)
        if value.shape[-2] != value.shape[-1]:
            return sym
        from ..linalg import eigvalsh
        return sym & F.all(eigvalsh(value.detach()) >= 0, dim=-1)


class _Multinomial(Constraint):
    """Non-negative vectors adding up to at most ``upper_bound`` (as torch, integrality is
    not checked)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return F.all(value >= 0, dim=-1) & (value.sum(-1) <= self.upper_bound)


class _CatConstraint(Constraint):
    def __init__(self, cs, dim, lengths):
        self.cs, self.dim, self.lengths = cs, dim, lengths

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cs)

    def check(self, value):
        checks, start = [], 0
        for c, n in zip(self.cs, self.lengths):
            checks.append(c.check(value.narrow(self.dim, start, n)))
            start += n
        return F.cat(checks, self.dim)


class _StackConstraint(Constraint):
    def __init__(self, cs, dim):
        self.cs, self.dim = cs, dim

    def check(self, value):
        return F.stack([c.check(value.select(self.dim, i)) for i, c in enumerate(self.cs)],
                       self.dim)


def cat(cseq, dim=0, lengths=None):
    """The constraint of a value made by concatenating pieces along ``dim``: ``cseq[i]``
    on the ``lengths[i]`` entries of piece i (1 each by default)."""
    cseq = list(cseq)
    lengths = [1] * len(cseq) if lengths is None else list(lengths)
    if len(lengths) != len(cseq):
        raise ValueError(f"cat: {len(cseq)} constraints but {len(lengths)} lengths")
    return _CatConstraint(cseq, dim, lengths)


def stack(cseq, dim=0):
    """The constraint of a value made by stacking along ``dim``: ``cseq[i]`` at index i."""
    return _StackConstraint(list(cseq), dim)


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
dependent_property = _DependentProperty
independent = _IndependentConstraint
real = _Real()
real_vector = independent(real, 1)
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
less_than = _LessThan
lower_triangular = _LowerTriangular()
multinomial = _Multinomial
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
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
