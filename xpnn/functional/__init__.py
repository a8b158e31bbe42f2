"""xpnn.functional (also ``xpnn.nn.functional``): the differentiable ops, each one Function
with a hand-written backward, grouped by family."""
from .activation import (elu, erf, gelu, leaky_relu, log_softmax, relu, sigmoid, silu,
                         softmax, softplus, tanh)
from .activation import (celu, glu, gumbel_softmax, hardshrink, hardsigmoid, hardswish,
                         hardtanh, logsigmoid, mish, prelu, relu6, selu, softmin, softshrink,
                         softsign, tanhshrink, threshold)
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .distance import (cosine_embedding_loss, cosine_similarity, hinge_embedding_loss,
                       margin_ranking_loss, normalize, pairwise_distance, triplet_margin_loss)
from .dropout import dropout, dropout1d, dropout2d, dropout3d
from .elementwise import (abs, absolute, add, ceil, clamp, clip, cos, div, divide, eq, exp,
                          expm1, floor, ge, greater, greater_equal, gt, isfinite, isinf, isnan,
                          le, less, less_equal, log, log1p, logical_and, logical_not,
                          logical_or, logical_xor, lt, maximum, minimum, mul, multiply, ne, neg,
                          negative, not_equal, pow, reciprocal, round, rsqrt, sign, sin, sqrt,
                          square, sub, subtract, true_divide, trunc, where, masked_fill)
from .elementwise import argwhere, lerp, nonzero
from .moremath import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,
                       arctanh, asin, asinh, atan, atan2, atanh, bitwise_and,
                       bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
                       bitwise_xor, clamp_max, clamp_min, cosh, count_nonzero, exp2, floor_divide, hypot, isclose, log10, log2,
                       logaddexp, nan_to_num, remainder, sinh, tan)
from .embedding import embedding
from .einsum import einsum
from .gather import gather, one_hot, scatter, scatter_add
from .indexing import (chunk, getitem, index_select, masked_select, narrow, split, take,
                       unbind)
from .linalg import bmm, linear, matmul, mm, outer
from .fold import fold, unfold
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   huber_loss, l1_loss, mse_loss, nll_loss)
from .loss import (gaussian_nll_loss, kl_div, multilabel_soft_margin_loss, poisson_nll_loss,
                   smooth_l1_loss, soft_margin_loss)
from .norm import batch_norm, group_norm, instance_norm, layer_norm
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d,
                   max_pool1d, max_pool2d)
from .pool_indexed import (adaptive_max_pool1d, adaptive_max_pool2d, max_unpool1d,
                           max_unpool2d)
from .padding import pad
from .rearrange import (diag, diagonal, flip, fliplr, flipud, repeat_interleave, roll, tril,
                        triu)
from .recurrent import recurrent_layer
from .reduce import (all, amax, amin, any, argmax, argmin, cumsum, logsumexp, max, mean, min,
                     norm, prod, std, sum, var)
from .regularization import l1_penalty, l2_penalty
from .sorting import argsort, sort, topk
from .upsampling import interpolate, pixel_shuffle, pixel_unshuffle
from .shape import (broadcast_shapes, broadcast_tensors, broadcast_to, cat, concat,
                    concatenate, expand, expand_dims, flatten, movedim, moveaxis, permute,
                    permute_dims, reshape, squeeze, stack, swapaxes, swapdims, t, tile, to,
                    transpose, unflatten, unsqueeze, view)

__all__ = [name for name, obj in dict(globals()).items()
           if not name.startswith("_") and type(obj).__name__ != "module"]
