"""PyTorch's module paths of the distributions (``from torch.distributions.normal import
Normal``, ``torch.distributions.one_hot_categorical.OneHotCategorical``...): each is a small
module holding the classes PyTorch's module of that name defines, registered so that
``import xpnn.distributions.normal`` and attribute access both work. Where xpnn has a file
of the same name (gamma, independent, kl, multivariate_normal, ...) that file is the module."""
from __future__ import annotations

import sys
import types

# torch.distributions.<module> -> the names it defines
PATHS = {
    "bernoulli": ["Bernoulli"], "beta": ["Beta"], "binomial": ["Binomial"],
    "categorical": ["Categorical"], "cauchy": ["Cauchy"], "chi2": ["Chi2"],
    "dirichlet": ["Dirichlet"], "exp_family": ["ExponentialFamily"],
    "exponential": ["Exponential"], "fishersnedecor": ["FisherSnedecor"],
    "generalized_pareto": ["GeneralizedPareto"], "geometric": ["Geometric"],
    "gumbel": ["Gumbel"], "half_cauchy": ["HalfCauchy"], "half_normal": ["HalfNormal"],
    "inverse_gamma": ["InverseGamma"], "kumaraswamy": ["Kumaraswamy"], "laplace": ["Laplace"],
    "lkj_cholesky": ["LKJCholesky"], "log_normal": ["LogNormal"],
    "logistic_normal": ["LogisticNormal"], "mixture_same_family": ["MixtureSameFamily"],
    "multinomial": ["Multinomial"], "negative_binomial": ["NegativeBinomial"],
    "normal": ["Normal"], "one_hot_categorical": ["OneHotCategorical",
                                                  "OneHotCategoricalStraightThrough"],
    "pareto": ["Pareto"], "poisson": ["Poisson"],
    "relaxed_bernoulli": ["RelaxedBernoulli", "LogitRelaxedBernoulli"],
    "relaxed_categorical": ["RelaxedOneHotCategorical", "ExpRelaxedCategorical"],
    "studentT": ["StudentT"], "transformed_distribution": ["TransformedDistribution"],
    "uniform": ["Uniform"], "von_mises": ["VonMises"], "weibull": ["Weibull"],
    "wishart": ["Wishart"],
}


def register(package):
    """Make each module of PATHS that ``package`` (xpnn.distributions) has no file for."""
    for name, classes in PATHS.items():
        full = f"{package.__name__}.{name}"
        if full in sys.modules or hasattr(package, name):
            continue
        mod = types.ModuleType(full, f"torch.distributions.{name}'s names, from "
                                     f"{package.__name__}")
        for cls in classes:
            setattr(mod, cls, _find(package, cls))
        mod.__all__ = list(classes)
        sys.modules[full] = mod
        setattr(package, name, mod)


def _find(package, cls):
    obj = getattr(package, cls, None)
    if obj is None:  # not re-exported at the top: the modules that define it
        for mod in ("relaxed", "discrete", "more_families"):
            obj = getattr(sys.modules.get(f"{package.__name__}.{mod}"), cls, None)
            if obj is not None:
                break
    if obj is None:
        raise ImportError(f"{package.__name__}: no {cls} for torch.distributions' path")
    return obj
