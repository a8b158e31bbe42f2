"""xpnn.functional (also ``xpnn.nn.functional``): the differentiable ops, each one Function
with a hand-written backward, grouped by family."""
from .activation import (elu, erf, gelu, leaky_relu, log_softmax, relu, sigmoid, silu,
                         softmax, softplus, tanh)
from .activation import (celu, glu, gumbel_softmax, hardshrink, hardsigmoid, hardswish,
                         hardtanh, logsigmoid, mish, prelu, relu6, selu, softmin, softshrink,
                         softsign, tanhshrink, threshold)
from .attention import scaled_dot_product_attention
from .aliases import (adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices,
                      adaptive_max_pool3d_with_indices, celu_, elu_, hardtanh_, leaky_relu_,
                      max_pool1d_with_indices, max_pool2d_with_indices,
                      max_pool3d_with_indices, relu_, rrelu_, selu_, threshold_, upsample,
                      upsample_bilinear, upsample_nearest)
from .fractional_pool import (fractional_max_pool2d, fractional_max_pool2d_with_indices,
                              fractional_max_pool3d, fractional_max_pool3d_with_indices)
from .mha import multi_head_attention_forward
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .conv3d import conv3d, conv_transpose3d
from .ctc import ctc_loss
from .distance import (cosine_embedding_loss, cosine_similarity, hinge_embedding_loss,
                       margin_ranking_loss, normalize, pairwise_distance, triplet_margin_loss,
                       triplet_margin_with_distance_loss)
from .dropout import dropout, dropout1d, dropout2d, dropout3d
from .dropout import alpha_dropout, feature_alpha_dropout, rrelu
from .channel import channel_shuffle, local_response_norm
from .margin import bilinear, multi_margin_loss, multilabel_margin_loss
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
from .moremath import allclose, dist, equal, float_power, gcd, inner, lcm, ldexp, logaddexp2
from .embedding import embedding, embedding_bag
from .einsum import einsum
from .gather import gather, one_hot, scatter_add
from .indexing import (chunk, getitem, index_select, masked_select, narrow, split, take,
                       unbind)
from .linalg import bmm, linear, matmul, mm, outer
from .fold import fold, unfold
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   huber_loss, l1_loss, mse_loss, nll_loss)
from .linear_cross_entropy import LinearCrossEntropyOptions, linear_cross_entropy
from .loss import (gaussian_nll_loss, kl_div, multilabel_soft_margin_loss, poisson_nll_loss,
                   smooth_l1_loss, soft_margin_loss)
from .norm import batch_norm, group_norm, instance_norm, layer_norm, rms_norm
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d,
                   max_pool1d, max_pool2d)
from .pool_indexed import (adaptive_max_pool1d, adaptive_max_pool2d, max_unpool1d,
                           max_unpool2d, max_unpool3d)
from .pool3d import (adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, lp_pool1d,
                     lp_pool2d, lp_pool3d, max_pool3d)
from .padding import pad
from .rearrange import (diag, diagonal, flip, fliplr, flipud, repeat_interleave, roll, tril,
                        triu)
from .rearrange import diag_embed, diagflat, diagonal_scatter
from .recurrent import recurrent_layer
from .reduce import (all, amax, amin, any, argmax, argmin, cumsum, logsumexp, max, mean, min,
                     norm, prod, std, sum, var)
from .regularization import l1_penalty, l2_penalty
from .renorm import renorm
from .sorting import argsort, sort, topk
from .pointwise import (copysign, deg2rad, erfc, erfinv, fmax, fmin, fmod, frac, heaviside,
                        logit, rad2deg, sgn, signbit, sinc, xlogy)
from .products import (addbmm, addcdiv, addcmul, addmm, addmv, addr, baddbmm, cross, dot,
                       kron, mv, tensordot, trace, vdot)
from .scan import (cummax, cummin, cumprod, cumulative_trapezoid, diff, logcumsumexp,
                   trapezoid, trapz)
from .stats import (aminmax, kthvalue, median, mode, nanmean, nanmedian, nanquantile, nansum,
                    quantile, std_mean, var_mean)
from .special import digamma, lgamma, polygamma
from .upsampling import interpolate, pixel_shuffle, pixel_unshuffle
from .grid import affine_grid, grid_sample
from .cdist import cdist, pdist
from .indexops import (index_add, index_copy, index_fill, index_put, masked_scatter, put,
                       take_along_dim)
from .scatter_reduction import scatter, scatter_reduce
from .layout import (atleast_1d, atleast_2d, atleast_3d, block_diag, cartesian_prod,
                     column_stack, combinations, dsplit, dstack, hsplit, hstack, meshgrid,
                     ravel, rot90, row_stack, select, tensor_split, vsplit, vstack)
from .setops import (bincount, bucketize, histc, isin, isneginf, isposinf, isreal, msort,
                     searchsorted, unique, unique_consecutive)
from .shape import (broadcast_shapes, broadcast_tensors, broadcast_to, cat, concat,
                    concatenate, expand, expand_dims, flatten, movedim, moveaxis, permute,
                    permute_dims, reshape, squeeze, stack, swapaxes, swapdims, t, tile, to,
                    transpose, unflatten, unsqueeze, view)

__all__ = [name for name, obj in dict(globals()).items()
           if not name.startswith("_") and type(obj).__name__ != "module"]
