"""xpnn.special: PyTorch's ``torch.special`` names for functions xpnn has under other
names (gammaln is lgamma, expit is sigmoid, psi is digamma, ...)."""
from .functional import (digamma, erf, erfc, erfinv, exp2, expm1, lgamma, log1p, log_softmax,
                         logit, logsumexp, polygamma, round, sigmoid, sinc, softmax, xlogy)

gammaln = lgamma
psi = digamma
expit = sigmoid

__all__ = ["digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
           "log_softmax", "logit", "logsumexp", "polygamma", "psi", "round", "sinc", "softmax",
           "xlogy"]
