"""The gamma family: Gamma, Beta and Dirichlet (log_prob, entropy and moments through
xpnn.lgamma / xpnn.digamma; samples from gamma draws)."""
from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd import TensorBase, no_grad
from ..creation import tensor as _tensor
from . import constraints
from ._gamma_grad import _ReparamGamma
from .distribution import Distribution, broadcast_all

# Marsaglia-Tsang rounds drawn at once: a round rejects with probability < 0.05, so every
# one of them rejects with probability < 1e-15 (then the sample is the proposal's mode)
_ROUNDS = 12


def standard_gamma(alpha):
    """Gamma(alpha, 1) samples of ``alpha``'s shape (no gradient), by Marsaglia and Tsang's
    method ("A simple method for generating gamma variables", 2000), all rounds at once so
    nothing is read back; alpha < 1 is boosted: Gamma(a) = Gamma(a + 1) U^(1/a)."""
    be, xp, A = alpha._be, alpha.xp, alpha.array
    dt = B.dtype_name(alpha.dtype)
    shape = (_ROUNDS,) + tuple(A.shape)
    with be.quiet():
        a = xp.where(A < 1, A + 1, A)
        d = a - 1 / 3
        c = 1 / xp.sqrt(9 * d)
        X = be.normal(shape, dt)
        U = be.uniform(shape, dt)
        V = (1 + c * X) ** 3
        ok = (V > 0) & (xp.log(U) < 0.5 * X * X + d - d * V + d * xp.log(V))
        G = d
        for r in range(_ROUNDS - 1, -1, -1):
            G = xp.where(ok[r, ...], d * V[r, ...], G)
        boost = (1 - be.uniform(tuple(A.shape), dt)) ** (1 / A)
        G = xp.where(A < 1, G * boost, G)
        G = xp.maximum(G, float(B.np.finfo(dt).tiny))
    return alpha._result(G, be)


def standard_gamma_rsample(alpha):
    """Gamma(alpha, 1) draws of ``alpha``'s shape, differentiable in ``alpha`` (the
    implicit derivative of _gamma_grad.py)."""
    x = standard_gamma(alpha.detach())
    if not alpha.requires_grad:
        return x
    return _ReparamGamma.apply(alpha, x)


class Gamma(Distribution):
    """Gamma(concentration, rate): density rate^c x^(c-1) e^(-rate x) / Gamma(c), as
    ``torch.distributions.Gamma``; ``rsample`` is differentiable in both parameters (the
    concentration through the implicit derivative of the CDF, see _gamma_grad.py)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate ** 2

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            g = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
            return g.clamp(min=float(B.np.finfo(B.dtype_name(g.dtype)).tiny))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        g = standard_gamma_rsample(self.concentration.expand(shape)) / self.rate.expand(shape)
        return g.clamp(min=float(B.np.finfo(B.dtype_name(g.dtype)).tiny))

    def log_prob(self, value):
        if not isinstance(value, TensorBase):  # torch's Gamma takes a number here
            value = _tensor(value, dtype=self.rate.dtype, device=self.rate.device,
                            backend=self.rate._be.name)
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return F.xlogy(c, r) + F.xlogy(c - 1, value) - r * value - F.lgamma(c)

    def entropy(self):
        c, r = self.concentration, self.rate
        return c - r.log() + F.lgamma(c) + (1 - c) * F.digamma(c)

    def cdf(self, value):
        """P(concentration, rate x), the regularized lower incomplete gamma function
        (differentiable in rate and x; in the concentration it raises, as PyTorch's)."""
        from ..functional.special_gamma import gammainc
        if self._validate_args:
            self._validate_sample(value)
        return gammainc(self.concentration, self.rate * value)


class Dirichlet(Distribution):
    """The Dirichlet distribution on the simplex, as ``torch.distributions.Dirichlet``.

    Args:
        concentration: (..., K) positive; ``event_shape`` is (K,).
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        a = self.concentration
        m = (a - 1).clamp(min=0)
        m = m / m.sum(-1, keepdim=True)
        corner = F.one_hot(F.argmax(m, dim=-1), a.shape[-1]).to(a.dtype)
        return F.where(F.all(a < 1, dim=-1).unsqueeze(-1), corner, m)

    @property
    def variance(self):
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0 ** 2 * (a0 + 1))

    def sample(self, sample_shape=()):
        with no_grad():
            g = standard_gamma(self.concentration.expand(self._extended_shape(sample_shape)))
            return g / g.sum(-1, keepdim=True)

    def rsample(self, sample_shape=()):
        g = standard_gamma_rsample(self.concentration.expand(self._extended_shape(sample_shape)))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return F.xlogy(a - 1, value).sum(-1) + F.lgamma(a.sum(-1)) - F.lgamma(a).sum(-1)

    def entropy(self):
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return F.lgamma(a).sum(-1) - F.lgamma(a0) - (k - a0) * F.digamma(a0) \
            - ((a - 1) * F.digamma(a)).sum(-1)


class Beta(Distribution):
    """The Beta distribution on [0, 1] with density x^(a-1) (1-x)^(b-1) / B(a, b), as
    ``torch.distributions.Beta(concentration1=a, concentration0=b)``."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    _repr_hidden = ("concentration1", "concentration0")  # properties in torch: "Beta()"
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1,
                                                                 concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    def _dirichlet(self):
        return Dirichlet(F.stack([self.concentration1, self.concentration0], -1),
                         validate_args=False)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        """(a - 1) / (a + b - 2) with a - 1 and b - 1 clamped at 0; 1 where both are below 1
        (torch's choice of corner); NaN where the clamped sum is 0 otherwise. Written with
        where() so that no 0/0 in an untaken branch reaches the gradient."""
        a, b = self.concentration1, self.concentration0
        am1 = F.where(a >= 1, a - 1, 0.0)
        bm1 = F.where(b >= 1, b - 1, 0.0)
        corner = (a < 1) & (b < 1)
        ratio = am1 / F.where(corner, 1.0, am1 + bm1)
        return F.where(corner, 1.0, ratio)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def sample(self, sample_shape=()):
        return self._dirichlet().sample(sample_shape)[..., 0]

    def rsample(self, sample_shape=()):
        return self._dirichlet().rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._dirichlet().log_prob(F.stack([value, 1.0 - value], -1))

    def entropy(self):
        return self._dirichlet().entropy()


