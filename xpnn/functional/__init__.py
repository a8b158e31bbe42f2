"""xpnn.functional: the differentiable ops, each one Function with a hand-written backward."""
from .activation import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax,
                         softplus, tanh)
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .dropout import dropout
from .elementwise import (abs, add, clip, div, eq, exp, ge, gt, le, log, lt, maximum, minimum,
                          mul, ne, neg, pow, sqrt, square, sub, where)
from .embedding import embedding
from .linalg import linear, matmul
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   huber_loss, l1_loss, mse_loss, nll_loss)
from .norm import batch_norm, group_norm, layer_norm
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d,
                   max_pool1d, max_pool2d)
from .recurrent import recurrent_layer
from .regularization import dropout1d, dropout2d, l1_penalty, l2_penalty
from .reduce import logsumexp, max, mean, min, std, sum, var
from .shape import (cat, concat, flatten, getitem, permute, reshape, squeeze, stack, take, to,
                    transpose, unsqueeze)

__all__ = [name for name, obj in dict(globals()).items()
           if not name.startswith("_") and type(obj).__name__ != "module"]

from ..autograd import _install_tensor_methods  # noqa: E402  (Tensor's operators need F)

_install_tensor_methods()
