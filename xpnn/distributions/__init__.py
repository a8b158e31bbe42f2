"""xpnn.distributions: probability distributions with PyTorch's API
(``torch.distributions``): sampling from xpnn's seeded generators, reparameterized
``rsample`` where the distribution has one, ``log_prob``, ``entropy`` and moments as
differentiable xpnn ops, and ``kl_divergence`` between pairs of them."""
from . import constraints
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Categorical, OneHotCategorical
from .distribution import Distribution
from .gamma import Beta, Dirichlet, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from . import kl
from . import transforms
from .transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform,
                         PowerTransform, SigmoidTransform, SoftmaxTransform, TanhTransform,
                         Transform, identity_transform)  # re-exported, as torch's are
from .mixture import MixtureSameFamily
from .more_continuous import Cauchy, Chi2, Gumbel, HalfCauchy, Pareto, StudentT, Weibull
from .more_discrete import Binomial, Geometric, Multinomial, NegativeBinomial, Poisson
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed import HalfNormal, LogNormal, TransformedDistribution
from . import kl_more  # noqa: F401  (registers the KL pairs of the classes above)
from . import kl_gaps  # noqa: F401  (the KL pairs between the classes of kl.py)
from .lowrank_multivariate_normal import LowRankMultivariateNormal

__all__ = ["Bernoulli", "Beta", "Categorical", "Dirichlet", "Distribution", "Exponential",
           "Gamma", "Independent", "Laplace", "MultivariateNormal", "Normal",
           "OneHotCategorical", "Uniform", "constraints", "kl", "kl_divergence",
           "register_kl", "Binomial", "Cauchy", "Chi2", "Geometric", "Gumbel", "HalfCauchy",
           "HalfNormal", "LogNormal", "MixtureSameFamily", "Multinomial", "NegativeBinomial",
           "Pareto", "Poisson", "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT",
           "TransformedDistribution", "Weibull", "transforms"]
__all__ += ["AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform",
            "PowerTransform", "SigmoidTransform", "SoftmaxTransform", "TanhTransform",
            "Transform", "identity_transform"]
__all__ += ["LowRankMultivariateNormal"]
from . import more_families as _more_families
from . import more_transforms as _more_transforms
from .more_transforms import *  # noqa: F401,F403  (the rest of torch's transforms)
from .more_families import *  # noqa: F401,F403  (VonMises, Kumaraswamy, InverseGamma, ...)
from . import kl_more_families  # noqa: F401  (their KL pairs)
from .matrix_valued import LKJCholesky, Wishart  # noqa: F401
for _name in _more_transforms.__all__:  # torch.distributions.transforms.<Name> too
    setattr(transforms, _name, getattr(_more_transforms, _name))
__all__ += _more_transforms.__all__ + _more_families.__all__
__all__ += ["LKJCholesky", "Wishart"]
from . import constraint_registry  # noqa: E402
from .constraint_registry import biject_to, transform_to  # noqa: E402
__all__ += ["biject_to", "transform_to", "constraint_registry"]
from . import utils  # noqa: E402  torch.distributions.utils
import sys as _sys  # noqa: E402
from . import _torch_paths  # noqa: E402
_torch_paths.register(_sys.modules[__name__])  # torch.distributions.normal ...
