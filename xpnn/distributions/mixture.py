"""MixtureSameFamily: a Categorical choice among the components of one batched
distribution."""
from __future__ import annotations

from .. import functional as F
from ..autograd import no_grad
from ..tensor import Size
from . import constraints
from .discrete import Categorical
from .distribution import Distribution


class MixtureSameFamily(Distribution):
    """A mixture whose k-th component is entry k of the last batch dim of
    ``component_distribution``, chosen with the weights of ``mixture_distribution``, as
    ``torch.distributions.MixtureSameFamily`` (e.g. a Gaussian mixture from a
    Categorical over K and a Normal or Independent(Normal) of batch shape (..., K)).

    Args:
        mixture_distribution: a Categorical with K classes, batch shape broadcasting with
            the component batch shape without its last dim.
        component_distribution: a Distribution of batch shape (..., K).
    """

    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("MixtureSameFamily: mixture_distribution must be a Categorical, "
                             f"got {type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("MixtureSameFamily: component_distribution must be a "
                             f"Distribution, got {type(component_distribution).__name__}")
        mdbs = tuple(mixture_distribution.batch_shape)
        if not component_distribution.batch_shape:
            raise ValueError("MixtureSameFamily: component_distribution needs a batch dim of "
                             "components, got batch_shape ()")
        cdbs = tuple(component_distribution.batch_shape[:-1])
        for a, b in zip(reversed(mdbs), reversed(cdbs)):
            if a != 1 and b != 1 and a != b:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not "
                                 f"compatible with `component_distribution.batch_shape`({cdbs})")
        # read through .logits, as torch does: a probs-made Categorical then has both (repr)
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = km
        event_shape = component_distribution.event_shape
        self._event_ndims = len(event_shape)
        super().__init__(cdbs, event_shape, validate_args=validate_args)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    def expand(self, batch_shape, _instance=None):
        batch_shape = Size(batch_shape)
        new = type(self).__new__(type(self)) if _instance is None else _instance
        new.__dict__.update(self.__dict__)
        new._component_distribution = self._component_distribution.expand(
            tuple(batch_shape) + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._batch_shape = batch_shape
        return new

    def _pad(self, x):
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x):
        """Mixture weights (..., K) shaped to multiply the component moments (..., K, *E)
        (PyTorch's padding, including its rule for a 1-d mixture batch)."""
        dist_ndims = len(self._batch_shape)
        cat_ndims = len(self._mixture_distribution.batch_shape)
        pad = 0 if cat_ndims == 1 else dist_ndims - cat_ndims
        xs = tuple(x.shape)
        return x.reshape(xs[:-1] + (1,) * pad + xs[-1:] + (1,) * self._event_ndims)

    @property
    def mean(self):
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        comp = self._component_distribution
        dim = -1 - self._event_ndims
        mean_cond_var = (probs * comp.variance).sum(dim)
        var_cond_mean = (probs * (comp.mean - self._pad(self.mean)) ** 2).sum(dim)
        return mean_cond_var + var_cond_mean

    def cdf(self, x):
        x = self._pad(x)
        return (self._component_distribution.cdf(x) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        lp = self._component_distribution.log_prob(self._pad(x))  # (S, B, K)
        log_mix = F.log_softmax(self._mixture_distribution.logits, dim=-1)
        return F.logsumexp(lp + log_mix, dim=-1)

    def sample(self, sample_shape=()):
        """Each draw: a component index from the mixture, then that component's sample
        (every component is drawn; the chosen one kept by a mask, not a gather, so an
        infinite draw of another component cannot leak in)."""
        with no_grad():
            k = self._num_component
            mix = self._mixture_distribution.sample(sample_shape)            # (S, Bm)
            comp = self._component_distribution.sample(sample_shape)         # (S, B, K, E)
            chosen = F.one_hot(mix, k) == 1                                  # (S, Bm, K)
            chosen = chosen.reshape(tuple(chosen.shape) + (1,) * self._event_ndims)
            dim = len(tuple(sample_shape)) + len(self._batch_shape)
            return F.where(chosen, comp, 0.0).sum(dim)

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  "
                f"{self._component_distribution!r})")
