"""xpnn.functional (also ``xpnn.nn.functional``): the differentiable ops, each one Function
with a hand-written backward, grouped by family."""
from .activation import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax,
                         softplus, tanh)
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .dropout import dropout, dropout1d, dropout2d, dropout3d
from .elementwise import (abs, absolute, add, ceil, clamp, clip, cos, div, divide, eq, exp,
                          expm1, floor, ge, greater, greater_equal, gt, isfinite, isinf, isnan,
                          le, less, less_equal, log, log1p, logical_and, logical_not,
                          logical_or, logical_xor, lt, maximum, minimum, mul, multiply, ne, neg,
                          negative, not_equal, pow, reciprocal, round, rsqrt, sign, sin, sqrt,
                          square, sub, subtract, true_divide, trunc, where, masked_fill)
from .embedding import embedding
from .indexing import chunk, getitem, index_select, narrow, split, take, unbind
from .linalg import bmm, linear, matmul, mm, outer
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   huber_loss, l1_loss, mse_loss, nll_loss)
from .norm import batch_norm, group_norm, layer_norm
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d,
                   max_pool1d, max_pool2d)
from .recurrent import recurrent_layer
from .reduce import (all, amax, amin, any, argmax, argmin, cumsum, logsumexp, max, mean, min,
                     norm, prod, std, sum, var)
from .regularization import l1_penalty, l2_penalty
from .shape import (broadcast_shapes, broadcast_tensors, broadcast_to, cat, concat,
                    concatenate, expand, expand_dims, flatten, movedim, moveaxis, permute,
                    permute_dims, reshape, squeeze, stack, swapaxes, swapdims, t, to, transpose,
                    unflatten, unsqueeze, view)

__all__ = [name for name, obj in dict(globals()).items()
           if not name.startswith("_") and type(obj).__name__ != "module"]
