"""xpnn.functional: the differentiable ops, each one Function with a hand-written backward."""
from .activation import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax,
                         softplus, tanh)
from .dropout import dropout
from .elementwise import (abs, add, clip, div, eq, exp, ge, gt, le, log, lt, maximum, minimum,
                          mul, ne, neg, pow, sqrt, square, sub, where)
from .linalg import linear, matmul
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   huber_loss, l1_loss, mse_loss, nll_loss)
from .reduce import logsumexp, max, mean, min, std, sum, var
from .shape import (cat, concat, flatten, getitem, permute, reshape, squeeze, stack, take, to,
                    transpose, unsqueeze)

__all__ = [name for name in dir() if not name.startswith("_")]

from ..autograd import _install_tensor_methods  # noqa: E402  (Tensor's operators need F)

_install_tensor_methods()
