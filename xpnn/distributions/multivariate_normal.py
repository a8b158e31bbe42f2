"""MultivariateNormal, parameterized by its Cholesky factor."""
from __future__ import annotations

import math

from .. import functional as F
from ..creation import eye
from . import constraints
from ._linalg import cholesky, solve_triangular
from .continuous import standard
from .distribution import Distribution


class MultivariateNormal(Distribution):
    """N(loc, Sigma) over vectors of size n, as ``torch.distributions.MultivariateNormal``.

    Args:
        loc: (..., n) the mean.
        covariance_matrix: (..., n, n) Sigma, positive definite; or
        precision_matrix: (..., n, n) Sigma^-1; or
        scale_tril: (..., n, n) lower-triangular L with L L^T = Sigma, positive diagonal.
            Exactly one of the three. Every computation goes through L (a differentiable
            Cholesky factor of the other two); ``rsample`` is loc + L eps.
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        M = given[0]
        if M.ndim < 2:
            name = ("covariance_matrix" if covariance_matrix is not None else
                    "precision_matrix" if precision_matrix is not None else "scale_tril")
            raise ValueError(f"{name} must be at least two-dimensional, with optional "
                             f"leading batch dimensions")
        n = loc.shape[-1]
        if tuple(M.shape[-2:]) != (n, n):
            raise ValueError(f"MultivariateNormal: loc of size {n} needs ({n}, {n}) "
                             f"matrices, got shape {tuple(M.shape)}")
        batch = F.broadcast_shapes(tuple(M.shape[:-2]), tuple(loc.shape[:-1]))
        self.loc = loc.expand(tuple(batch) + (n,))
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(tuple(batch) + (n, n))
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(tuple(batch) + (n, n))
        else:
            self.precision_matrix = precision_matrix.expand(tuple(batch) + (n, n))
        super().__init__(batch, (n,), validate_args=validate_args)
        if scale_tril is None:
            self.scale_tril = tril_factor(self.__dict__.get("covariance_matrix"),
                                          self.__dict__.get("precision_matrix"))
            self._repr_hidden = ("scale_tril",)  # derived, as torch's lazy one

    def __getattr__(self, name):  # the matrices not given, derived from L on first use
        return derived_matrix(self, name)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return (self.scale_tril ** 2).sum(-1)

    def rsample(self, sample_shape=()):
        eps = standard(self.loc, self._extended_shape(sample_shape), "normal")
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return F.diagonal(self.scale_tril, 0, -2, -1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        z = solve_triangular(self.scale_tril, diff.unsqueeze(-1)).squeeze(-1)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + (z ** 2).sum(-1)) - self._half_log_det()

    def entropy(self):
        n = self._event_shape[0]
        return 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()


def tril_factor(covariance_matrix, precision_matrix):
    """L with L L^T = Sigma, from the covariance matrix, or from the precision matrix P:
    Sigma = P^-1 = (L_P L_P^T)^-1, its factor from the inverse of L_P."""
    if covariance_matrix is not None:
        return cholesky(covariance_matrix)
    inv = solve_triangular(cholesky(precision_matrix), _eye_like(precision_matrix))
    return cholesky(inv.mT @ inv)


def derived_matrix(dist, name):
    """``dist.covariance_matrix`` or ``dist.precision_matrix`` made from ``dist.scale_tril``
    and kept (a distribution's ``__getattr__`` for the matrices it was not given)."""
    if name == "covariance_matrix":
        value = dist.scale_tril @ dist.scale_tril.mT
    elif name == "precision_matrix":
        inv = solve_triangular(dist.scale_tril, _eye_like(dist.scale_tril))
        value = inv.mT @ inv
    else:
        raise AttributeError(f"{type(dist).__name__!r} object has no attribute {name!r}")
    dist.__dict__[name] = value
    return value


def _eye_like(M):
    n = M.shape[-1]
    return eye(n, dtype=M.dtype, backend=M.backend, device=M.device)
