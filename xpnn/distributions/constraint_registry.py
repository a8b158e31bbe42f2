"""``torch.distributions.constraint_registry``: from a constraint to a transform whose
codomain is that constraint, so an unconstrained parameter can be optimized and mapped into
the set a distribution needs (``transform_to(constraints.lower_cholesky)(raw)``).

Two registries, as PyTorch's:

* ``biject_to(c)``: a bijection (its inverse and log-determinant are exact), used for
  reparameterised inference (a simplex through the stick-breaking transform);
* ``transform_to(c)``: a transform onto ``c``, not necessarily one-to-one (a simplex through
  softmax; lower Cholesky factors and positive-definite matrices only here).

A registry is keyed by the constraint's exact class; ``register`` adds a factory
``factory(constraint) -> Transform`` for a constraint class or instance (decorator form too).
"""
from __future__ import annotations

from numbers import Number

from . import constraints
from .corr_cholesky import CorrCholeskyTransform
from .more_transforms import (IndependentTransform, LowerCholeskyTransform,
                              PositiveDefiniteTransform, StickBreakingTransform)
from .piecewise_transforms import CatTransform, StackTransform
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform,
                         SoftmaxTransform, identity_transform)

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """A table from constraint classes to transform factories."""

    def __init__(self):
        self._registry = {}

    def register(self, constraint, factory=None):
        """Register ``factory`` (``constraint -> Transform``) for ``constraint``'s class.

        Args:
            constraint: a ``Constraint`` subclass, or an instance (its class is used).
            factory: the callable; omitted, ``register`` returns a decorator.
        """
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not (isinstance(constraint, type) and issubclass(constraint, constraints.Constraint)):
            raise TypeError(f"ConstraintRegistry.register: expected constraint to be a "
                            f"Constraint subclass or instance, got {constraint!r}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        """The transform registered for ``constraint``'s class, made for this instance.

        Raises:
            NotImplementedError: no factory is registered for that class.
        """
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(
                f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _real(constraint):
    return identity_transform


def _independent_factory(registry):
    def factory(constraint):
        base = registry(constraint.base_constraint)
        return IndependentTransform(base, constraint.reinterpreted_batch_ndims)
    return factory


def _greater_than(constraint):
    # exp maps the reals onto (0, inf), then a shift by the bound
    return ComposeTransform([ExpTransform(), AffineTransform(constraint.lower_bound, 1)])


def _less_than(constraint):
    return ComposeTransform([ExpTransform(), AffineTransform(constraint.upper_bound, -1)])


def _interval(constraint):
    lower, upper = constraint.lower_bound, constraint.upper_bound
    if isinstance(lower, Number) and lower == 0 and isinstance(upper, Number) and upper == 1:
        return SigmoidTransform()
    return ComposeTransform([SigmoidTransform(), AffineTransform(lower, upper - lower)])


def _cat_factory(registry):
    def factory(constraint):
        return CatTransform([registry(c) for c in constraint.cs], constraint.dim,
                            constraint.lengths)
    return factory


def _stack_factory(registry):
    def factory(constraint):
        return StackTransform([registry(c) for c in constraint.cs], constraint.dim)
    return factory


for _registry in (biject_to, transform_to):
    _registry.register(constraints.real, _real)
    _registry.register(constraints.independent, _independent_factory(_registry))
    for _c in (constraints.greater_than, constraints.greater_than_eq):
        _registry.register(_c, _greater_than)
    _registry.register(constraints.less_than, _less_than)
    for _c in (constraints.interval, constraints.half_open_interval):
        _registry.register(_c, _interval)
    _registry.register(constraints.corr_cholesky, lambda c: CorrCholeskyTransform())
    _registry.register(constraints._CatConstraint, _cat_factory(_registry))
    _registry.register(constraints._StackConstraint, _stack_factory(_registry))

biject_to.register(constraints.simplex, lambda c: StickBreakingTransform())
transform_to.register(constraints.simplex, lambda c: SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda c: LowerCholeskyTransform())
for _c in (constraints.positive_definite, constraints.positive_semidefinite):
    transform_to.register(_c, lambda c: PositiveDefiniteTransform())
