"""Distributions over matrices: LKJCholesky (Cholesky factors of correlation matrices) and
Wishart (positive-definite matrices), as ``torch.distributions``."""
from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..autograd import no_grad
from ..creation import arange
from ..functional.special_more import mvlgamma
from . import constraints
from ._linalg import cholesky, solve_triangular
from .continuous import standard
from .distribution import Distribution, broadcast_all
from .gamma import Beta
from .more_continuous import Chi2
from .multivariate_normal import derived_matrix, tril_factor

__all__ = ["LKJCholesky", "Wishart"]


class LKJCholesky(Distribution):
    """The LKJ distribution over Cholesky factors L of dim x dim correlation matrices, with
    density proportional to det(L L^T)^(concentration - 1) (Lewandowski, Kurowicka and Joe,
    2009), as ``torch.distributions.LKJCholesky``; samples by the onion method."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if not isinstance(dim, int) or dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        super().__init__(self.concentration.shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(tuple(batch_shape), _instance)

    def sample(self, sample_shape=()):
        with no_grad():
            c = self.concentration
            n = self.dim
            marginal = c + 0.5 * (n - 2)
            # row i >= 1 (0-based) of the factor: sqrt(y) times a uniform direction in its
            # first i entries, y ~ Beta(i / 2, eta + (n - 2) / 2 - (i - 1) / 2) (the onion
            # method, section 3.2 of the paper); row 0 is e_0 whatever y is
            offset = arange(n, dtype=c.dtype, backend=c.backend, device=c.device) - 1
            offset = offset.clamp(min=0)  # [0, 0, 1, ..., n - 2]
            y = Beta(0.5 * offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset,
                     validate_args=False).sample(sample_shape).unsqueeze(-1)
            u = F.tril(standard(c, self._extended_shape(sample_shape), "normal"), -1)
            norm = (u * u).sum(-1, keepdim=True).sqrt()
            u = u / F.where(norm > 0, norm, 1.0)  # row 0 is all zeros: stays so
            w = y.sqrt() * u
            tiny = float(B.np.finfo(B.dtype_name(c.dtype)).tiny)
            diag = (1 - (w * w).sum(-1)).clamp(min=tiny).sqrt()
            return w + F.diag_embed(diag)

    def log_prob(self, value):
        """sum_i (2 (eta - 1) + dim - i) log L_ii over i = 2..dim, less the log of the
        normalizing constant (the paper's eq. 16 for the Cholesky factor)."""
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        n = self.dim
        diag = F.diagonal(value, 0, -2, -1)[..., 1:]
        order = arange(2, n + 1, dtype=c.dtype, backend=c.backend, device=c.device)
        weight = 2 * (c - 1).unsqueeze(-1) + n - order
        unnormalized = (weight * diag.log()).sum(-1)
        m = n - 1
        alpha = c + 0.5 * m
        norm = 0.5 * m * math.log(math.pi) + mvlgamma(alpha - 0.5, m) - F.lgamma(alpha) * m
        return unnormalized - norm


def _mvdigamma(x, p):
    """sum_(i<p) digamma(x - i / 2)."""
    total = F.digamma(x)
    for i in range(1, p):
        total = total + F.digamma(x - 0.5 * i)
    return total


class Wishart(Distribution):
    """The Wishart distribution over p x p positive-definite matrices with ``df`` degrees
    of freedom and scale given by exactly one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril``, as ``torch.distributions.Wishart``;
    ``rsample`` by the Bartlett decomposition (differentiable in df through the
    reparameterized chi-squared draws)."""

    support = constraints.positive_definite
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self._event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        M = given[0]
        if M.ndim < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        p = M.shape[-1]
        if isinstance(df, (int, float)):
            batch = tuple(M.shape[:-2])
            df = M.new_full((), float(df))
        else:
            batch = tuple(F.broadcast_shapes(tuple(M.shape[:-2]), tuple(df.shape)))
        self.df = df.expand(batch)
        if B.to_numpy((self.df <= p - 1).array).any() if self.df._be.on_host else False:
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = "
                             f"{p - 1}.")
        if scale_tril is not None:
            self.scale_tril = M.expand(batch + (p, p))
        elif covariance_matrix is not None:
            self.covariance_matrix = M.expand(batch + (p, p))
        else:
            self.precision_matrix = M.expand(batch + (p, p))
        super().__init__(batch, (p, p), validate_args=validate_args)
        if scale_tril is None:
            self.scale_tril = tril_factor(self.__dict__.get("covariance_matrix"),
                                          self.__dict__.get("precision_matrix"))
            self._repr_hidden = ("scale_tril",)  # derived, as torch's lazy one

    def __getattr__(self, name):  # the matrices not given, derived from L on first use
        return derived_matrix(self, name)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(tuple(batch_shape), _instance)

    def _df(self):
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df() * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self._event_shape[-1] - 1
        factor = F.where(factor > 0, factor, float("nan"))
        return factor.reshape(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = F.diagonal(V, 0, -2, -1)
        return self._df() * (V ** 2 + d.unsqueeze(-1) * d.unsqueeze(-2))

    def rsample(self, sample_shape=()):
        """L A A^T L^T with A lower triangular: A_ii = sqrt(chi2(df - i)), A_ij ~ N(0, 1)
        below the diagonal (Bartlett). Where a draw comes out singular in floating point
        it is returned as is (torch redraws those on the host)."""
        p = self._event_shape[-1]
        shape = tuple(sample_shape) + tuple(self._batch_shape)
        steps = arange(p, dtype=self.df.dtype, backend=self.df.backend,
                       device=self.df.device)
        chi = Chi2(self.df.unsqueeze(-1) - steps, validate_args=False).rsample(sample_shape)
        noise = F.tril(standard(self.df, shape + (p, p), "normal"), -1)
        A = noise + F.diag_embed(chi.sqrt())
        LA = self.scale_tril @ A
        return LA @ LA.mT

    def _half_log_det(self):
        return F.diagonal(self.scale_tril, 0, -2, -1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        Lx = cholesky(value)
        logdet_x = 2 * F.diagonal(Lx, 0, -2, -1).log().sum(-1)
        # tr(Sigma^-1 X) = || L^-1 Lx ||_F^2
        Z = solve_triangular(self.scale_tril, Lx)
        trace = (Z * Z).sum((-2, -1))
        return 0.5 * (nu - p - 1) * logdet_x - 0.5 * trace - nu * self._half_log_det() \
            - 0.5 * nu * p * math.log(2) - mvlgamma(0.5 * nu, p)

    def entropy(self):
        nu = self.df
        p = self._event_shape[-1]
        return (p + 1) * self._half_log_det() + 0.5 * p * (p + 1) * math.log(2) \
            + mvlgamma(0.5 * nu, p) - 0.5 * (nu - p - 1) * _mvdigamma(0.5 * nu, p) \
            + 0.5 * nu * p
