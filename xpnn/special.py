"""xpnn.special: PyTorch's ``torch.special`` names for functions xpnn has under other
names (gammaln is lgamma, expit is sigmoid, psi is digamma, ...), and the functions only
torch.special has (ndtr, log_ndtr, ndtri, erfcx, entr, xlog1py, i0/i0e/i1/i1e,
multigammaln: functional/special_more.py)."""
from .functional import (digamma, erf, erfc, erfinv, exp2, expm1, lgamma, log1p, log_softmax,
                         logit, logsumexp, polygamma, round, sigmoid, sinc, softmax, xlogy)
from .functional.special_more import (entr, erfcx, i0, i0e, i1, i1e, log_ndtr, multigammaln,
                                      ndtr, ndtri, xlog1py)

gammaln = lgamma
psi = digamma
expit = sigmoid

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc",
           "softmax", "xlog1py", "xlogy"]
