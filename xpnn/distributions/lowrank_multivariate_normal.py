"""LowRankMultivariateNormal: N(loc, W W^T + diag(D)), computed in O(n r^2) through the
capacitance matrix C = I + W^T D^-1 W (r x r) and the Woodbury identity, and its KL pairs
with itself and MultivariateNormal."""
from __future__ import annotations

import math

from .. import functional as F
from . import constraints
from ._linalg import cholesky, solve_triangular
from .continuous import standard
from .distribution import Distribution
from .kl import register_kl
from .multivariate_normal import MultivariateNormal, _eye_like


class LowRankMultivariateNormal(Distribution):
    """N(loc, W W^T + diag(D)) over vectors of size n, as
    ``torch.distributions.LowRankMultivariateNormal``.

    Args:
        loc: (..., n) the mean.
        cov_factor: (..., n, r) W, the low-rank part of the covariance.
        cov_diag: (..., n) D, positive, its diagonal part.
            The three broadcast to one batch shape.

    With C = I_r + W^T D^-1 W (the capacitance, factored once as L_C L_C^T):
    Sigma^-1 = D^-1 - D^-1 W C^-1 W^T D^-1 (Woodbury) and det Sigma = det C prod D
    (the matrix determinant lemma).
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.ndim < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if cov_factor.shape[-2] != n:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m, "
                             f"got shape {tuple(cov_factor.shape)}")
        if tuple(cov_diag.shape[-1:]) != (n,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape ({n},), got "
                             f"shape {tuple(cov_diag.shape)}")
        r = cov_factor.shape[-1]
        batch = tuple(F.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                         tuple(cov_diag.shape[:-1])))
        self.loc = loc.expand(batch + (n,))
        self.cov_factor = cov_factor.expand(batch + (n, r))
        self.cov_diag = cov_diag.expand(batch + (n,))
        super().__init__(batch, (n,), validate_args=validate_args)
        W_over_D = self.cov_factor / self.cov_diag.unsqueeze(-1)
        capacitance = self.cov_factor.mT @ W_over_D + _eye_like(self.cov_factor)  # r x r
        self._capacitance_tril = cholesky(capacitance)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return (self.cov_factor ** 2).sum(-1) + self.cov_diag

    @property
    def covariance_matrix(self):
        return self.cov_factor @ self.cov_factor.mT + F.diag_embed(self.cov_diag)

    @property
    def precision_matrix(self):
        A = self._woodbury_factor()
        return F.diag_embed(self.cov_diag.reciprocal()) - A.mT @ A

    @property
    def scale_tril(self):
        # Sigma = D^1/2 (D^-1/2 W W^T D^-1/2 + I) D^1/2: the inner matrix is well conditioned
        sqrt_d = self.cov_diag.sqrt().unsqueeze(-1)
        V = self.cov_factor / sqrt_d
        inner = V @ V.mT + _eye_like(V.mT)  # n x n
        return sqrt_d * cholesky(inner)

    def _woodbury_factor(self):
        """A = L_C^-1 W^T D^-1 (r x n), so that Sigma^-1 = D^-1 - A^T A."""
        return solve_triangular(self._capacitance_tril,
                                (self.cov_factor / self.cov_diag.unsqueeze(-1)).mT)

    def _log_det(self):
        """log det Sigma = 2 sum log diag(L_C) + sum log D."""
        half = F.diagonal(self._capacitance_tril, 0, -2, -1).log().sum(-1)
        return 2 * half + self.cov_diag.log().sum(-1)

    def _mahalanobis(self, diff):
        """diff^T Sigma^-1 diff over the last dim, by Woodbury."""
        z = solve_triangular(self._capacitance_tril,
                             (self.cov_factor.mT @ (diff / self.cov_diag).unsqueeze(-1)))
        return (diff ** 2 / self.cov_diag).sum(-1) - (z ** 2).sum((-2, -1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        r = self.cov_factor.shape[-1]
        eps_w = standard(self.loc, tuple(shape[:-1]) + (r,), "normal")
        eps_d = standard(self.loc, shape, "normal")
        return self.loc + (self.cov_factor @ eps_w.unsqueeze(-1)).squeeze(-1) \
            + self.cov_diag.sqrt() * eps_d

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n = self._event_shape[0]
        M = self._mahalanobis(value - self.loc)
        return -0.5 * (n * math.log(2 * math.pi) + self._log_det() + M)

    def entropy(self):
        n = self._event_shape[0]
        return 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())


# -- KL(p || q) = (tr(Sigma_q^-1 Sigma_p) + mahalanobis_q(mu_q - mu_p) - n
#                  + log det Sigma_q - log det Sigma_p) / 2 ----------------------------------
def _check_events(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")


def _trace_lowrank_q(q, W_p, D_p=None, L_p=None):
    """tr(Sigma_q^-1 Sigma_p) for a low-rank q, Sigma_p = W_p W_p^T + diag(D_p) or L_p L_p^T:
    tr(D_q^-1 Sigma_p) - ||A S_p||^2 with A the Woodbury factor and S_p a square root."""
    A = q._woodbury_factor()
    inv_d = q.cov_diag.reciprocal()
    if L_p is not None:
        return ((L_p ** 2).sum(-1) * inv_d).sum(-1) - ((A @ L_p) ** 2).sum((-2, -1))
    diag_part = ((W_p ** 2).sum(-1) * inv_d).sum(-1) + (D_p * inv_d).sum(-1)
    return diag_part - ((A @ W_p) ** 2).sum((-2, -1)) - (A ** 2 * D_p.unsqueeze(-2)).sum(
        (-2, -1))


def _kl(p, q, trace, mahalanobis, log_det_q, log_det_p):
    n = p.event_shape[0]
    return 0.5 * (trace + mahalanobis + log_det_q - log_det_p - n)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    _check_events(p, q)
    return _kl(p, q, _trace_lowrank_q(q, p.cov_factor, D_p=p.cov_diag),
               q._mahalanobis(q.loc - p.loc), q._log_det(), p._log_det())


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    _check_events(p, q)
    return _kl(p, q, _trace_lowrank_q(q, None, L_p=p.scale_tril),
               q._mahalanobis(q.loc - p.loc), q._log_det(), 2 * p._half_log_det())


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    _check_events(p, q)
    # tr(Sigma_q^-1 Sigma_p) = ||L_q^-1 W_p||^2 + ||L_q^-1 D_p^1/2||^2
    trace = (solve_triangular(q.scale_tril, p.cov_factor) ** 2).sum((-2, -1)) \
        + (solve_triangular(q.scale_tril, F.diag_embed(p.cov_diag.sqrt())) ** 2).sum((-2, -1))
    diff = (q.loc - p.loc).unsqueeze(-1)
    mahalanobis = (solve_triangular(q.scale_tril, diff) ** 2).sum((-2, -1))
    return _kl(p, q, trace, mahalanobis, 2 * q._half_log_det(), p._log_det())
