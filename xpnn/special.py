"""xpnn.special: PyTorch's ``torch.special`` names for functions xpnn has under other
names (gammaln is lgamma, expit is sigmoid, psi is digamma, ...), and the functions only
torch.special has (ndtr, log_ndtr, ndtri, erfcx, entr, xlog1py, i0/i0e/i1/i1e,
multigammaln: functional/special_more.py; gammainc, gammaincc: special_gamma.py; zeta:
special_zeta.py; the Bessel and Airy functions: special_bessel.py; the orthogonal
polynomials: special_poly.py)."""
from .functional import (digamma, erf, erfc, erfinv, exp2, expm1, lgamma, log1p, log_softmax,
                         logit, logsumexp, polygamma, round, sigmoid, sinc, softmax, xlogy)
from .functional.special_more import (entr, erfcx, i0, i0e, i1, i1e, log_ndtr, multigammaln,
                                      ndtr, ndtri, xlog1py)
from .functional.special_bessel import (airy_ai, bessel_j0, bessel_j1, bessel_y0, bessel_y1,
                                        modified_bessel_i0, modified_bessel_i1,
                                        modified_bessel_k0, modified_bessel_k1,
                                        scaled_modified_bessel_k0, scaled_modified_bessel_k1,
                                        spherical_bessel_j0)
from .functional.special_gamma import gammainc, gammaincc, zeta
from .functional.special_poly import (chebyshev_polynomial_t, chebyshev_polynomial_u,
                                      chebyshev_polynomial_v, chebyshev_polynomial_w,
                                      hermite_polynomial_h, hermite_polynomial_he,
                                      laguerre_polynomial_l, legendre_polynomial_p,
                                      shifted_chebyshev_polynomial_t,
                                      shifted_chebyshev_polynomial_u,
                                      shifted_chebyshev_polynomial_v,
                                      shifted_chebyshev_polynomial_w)

gammaln = lgamma
psi = digamma
expit = sigmoid

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1",
           "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv",
           "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
           "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e",
           "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr",
           "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0",
           "xlog1py", "xlogy", "zeta"]
