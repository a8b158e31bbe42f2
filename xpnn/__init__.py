"""xpnn: a neural-network framework written once against the Python Array API standard.

``import xpnn as torch`` works for PyTorch programs: tensors, their math, ``nn``, ``optim``,
``utils.data``, ``autograd``, devices and dtypes use PyTorch's names and meanings.
"""
from . import _coretype  # first: it may choose OpenBLAS's kernels before NumPy loads them
import math as _math
import sys as _sys
from . import backend as _backend
from .cpu import get_num_threads, set_num_threads  # the CPU thread policy (see xpnn/cpu.py)
from .autograd import (Function, backward, enable_grad, inference_mode, is_grad_enabled,
                       no_grad, set_grad_enabled)
from .backend import finfo, iinfo
from .backend import (Backend, BackendError, DType, device, get_backend, get_default_dtype,
                      initial_seed, set_default_backend, set_default_dtype,
                      to_numpy)
from .tensor import Size, Tensor
from ._printing import set_printoptions
from .creation import (BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor,
                       FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor)
from .creation import (Generator, arange, as_tensor, empty, empty_like, eye, from_dlpack,
                       from_numpy, full, full_like, linspace, normal, numel, ones, ones_like,
                       rand, rand_like, randint, randint_like, randn, randn_like, randperm,
                       tensor, zeros, zeros_like)
from .creation import logspace
from .creation import manual_seed
from .functional.sampling import bernoulli, multinomial
from .creation import tril_indices, triu_indices
from . import functional
from .functional import (abs, absolute, add, all, amax, amin, any, argmax, argmin, bmm,
                         broadcast_shapes, broadcast_tensors, broadcast_to, cat, ceil, chunk,
                         clamp, clip, concat, concatenate, cos, cumsum, div, divide, eq, exp,
                         expm1, flatten, floor, ge, greater, greater_equal, gt, index_select,
                         isfinite, isinf, isnan, le, less, less_equal, log, log1p,
                         logical_and, logical_not, logical_or, logical_xor, logsumexp, lt,
                         masked_fill, matmul, max, maximum, mean, min, minimum, mm, movedim,
                         moveaxis, mul, multiply, narrow, ne, neg, negative, norm, not_equal,
                         outer, permute, pow, prod, reciprocal, reshape, round, rsqrt, sign,
                         sin, split, sqrt, square, squeeze, std, stack, sub, subtract, sum,
                         swapaxes, swapdims, t, take, transpose, true_divide, trunc, unbind,
                         unflatten, unsqueeze, var, where)
from .functional import argwhere, erf, lerp, masked_select, nonzero
from .functional import (atleast_1d, atleast_2d, atleast_3d, bincount, block_diag, bucketize,
                         cartesian_prod, cdist, column_stack, combinations, dsplit, dstack,
                         histc, hsplit, hstack, index_add, index_copy, index_fill, index_put, isin,
                         isneginf, isposinf, masked_scatter, meshgrid, msort, ravel, rot90,
                         row_stack, scatter_reduce, searchsorted, select, take_along_dim,
                         tensor_split, unique, unique_consecutive, vsplit, vstack)
from .functional.promotion import can_cast, promote_types, result_type
from .functional import (addbmm, addcdiv, addcmul, addmm, addmv, aminmax, baddbmm, copysign,
                         cross, cummax, cummin, cumprod, cumulative_trapezoid, deg2rad, diff,
                         dot, erfc, erfinv, fmax, fmin, fmod, frac, heaviside, kron, kthvalue,
                         logcumsumexp, logit, median, mode, mv, nanmean, nanmedian,
                         nanquantile, nansum, quantile, rad2deg, sgn, signbit, sinc, std_mean,
                         tensordot, trace, trapezoid, trapz, var_mean, vdot, xlogy)
from .functional import digamma, lgamma, polygamma
from .functional.special_more import i0, mvlgamma
from .functional.special_gamma import igamma, igammac
from .functional import addr, isreal, put
from .functional import renorm
from .functional.fake_quant import (fake_quantize_per_channel_affine,
                                    fake_quantize_per_tensor_affine)
from .functional import (allclose, diag_embed, diagflat, diagonal_scatter, dist, equal,
                         float_power, gcd, inner, lcm, ldexp, logaddexp2)
from .functional import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,
                         arctanh, asin, asinh, atan, atan2, atanh, bitwise_and,
                         bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
                         bitwise_xor, clamp_max, clamp_min, cosh, count_nonzero, exp2,
                         floor_divide, hypot, isclose, log10, log2, logaddexp, nan_to_num,
                         remainder, sinh, tan)
from .functional import relu, sigmoid, softmax, log_softmax, tanh
from .functional import (argsort, celu, cosine_embedding_loss, cosine_similarity, diag,
                         diagonal, einsum, flip, fliplr, flipud, gather, hinge_embedding_loss,
                         kl_div, margin_ranking_loss, pairwise_distance, pixel_shuffle,
                         pixel_unshuffle, poisson_nll_loss, repeat_interleave, roll, scatter,
                         scatter_add, selu, sort, threshold, tile, topk, tril, triu,
                         triplet_margin_loss)
from .functional.matrix import (cholesky, cholesky_inverse, cholesky_solve, det, inverse,
                                logdet, matrix_power, pinverse, qr, slogdet, svd,
                                triangular_solve)
from .functional.lu import lu_deprecated as lu, lu_solve_deprecated as lu_solve, lu_unpack
from . import linalg
from . import accelerator, backends, cuda, nn, onnx, optim, utils
from . import distributions, special
from . import fft  # torch.fft
from . import export  # torch.export (xpnn/export/)
from . import sparse  # torch.sparse: COO tensors (xpnn/_sparse_coo.py)
from .sparse import sparse_coo_tensor, spmm
from .spectral import istft, stft
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import autograd
autograd.gradcheck = gradcheck  # torch.autograd.gradcheck, its usual spelling
autograd.gradgradcheck = gradgradcheck
from . import autograd_profiler  # noqa: E402  torch.autograd.profiler
from . import mps  # noqa: E402  torch.mps
from . import hub  # noqa: E402  torch.hub (weight downloads)
from .mps import xpu  # noqa: E402  torch.xpu: not available either
autograd.profiler = autograd_profiler
_sys.modules[__name__ + ".autograd.profiler"] = autograd_profiler
from .anomaly import AnomalyError, detect_anomaly
from . import anomaly as _anomaly
from .autograd import functional as _autograd_functional  # torch.autograd.functional
from .autograd import function as _autograd_function  # torch.autograd.function
from .autograd import grad_mode as _autograd_grad_mode  # torch.autograd.grad_mode
from .autograd import is_inference_mode_enabled
is_anomaly_enabled = _anomaly.is_anomaly_enabled  # torch.is_anomaly_enabled
autograd.detect_anomaly, autograd.set_detect_anomaly, autograd.is_anomaly_enabled = (
    detect_anomaly, _anomaly.set_detect_anomaly, _anomaly.is_anomaly_enabled)
from .io import CheckpointError, load, load_checkpoint, load_file, save, save_checkpoint
from . import random
from .random import get_rng_state, seed, set_rng_state
from .functional import (adaptive_avg_pool1d, alpha_dropout, avg_pool1d,
                         bilinear, binary_cross_entropy_with_logits, channel_shuffle, conv1d,
                         conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
                         dropout, embedding, embedding_bag, feature_alpha_dropout, group_norm,
                         hardshrink, layer_norm, max_pool1d, max_pool2d, max_pool3d, pdist,
                         prelu, rms_norm, rrelu)  # PyTorch's top-level spellings of F's ops
from ._settings import (are_deterministic_algorithms_enabled, get_default_device,
                        get_float32_matmul_precision,
                        is_deterministic_algorithms_warn_only_enabled, set_default_device,
                        set_float32_matmul_precision, use_deterministic_algorithms)
from ._settings import device  # noqa: F811 (backend's device, also a context manager)
from . import backend_meta as _backend_meta  # noqa: F401 (the "meta" device)
from . import serialization
from ._memory_format import (channels_last, channels_last_3d, contiguous_format,
                             memory_format, preserve_format)
from .nn import modules as _nn_modules  # PyTorch's module paths: xpnn.nn.modules.linear...
from . import callbacks, data, metrics
from . import distributed
from .train import History, NonFiniteLossError, evaluate, fit, predict
from . import amp, compiler, func, return_types  # torch.amp, torch.compiler, torch.func
from . import jit, multiprocessing, profiler, testing  # torch.jit changes nothing, ...
from .amp import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled
from .cpu import amp as _cpu_amp  # torch.cpu.amp (xpnn.cuda.amp comes with xpnn.cuda)
from ._compile import compile
from . import library  # torch.library: custom ops (xpnn/library.py)
from .library import ops  # torch.ops.<namespace>.<op>
from .func import vmap
from .functional.misc import (adjoint, angle, binomial, chain_matmul, conj, conj_physical,
                              corrcoef, cov, frexp, get_num_interop_threads, histogram, imag,
                              is_conj, is_neg, matrix_exp, nextafter, orgqr, poisson, real,
                              resolve_conj, resolve_neg, rsub, select_scatter,
                              set_num_interop_threads, slice_scatter, typename, vander)
from .creation_more import (asarray, bartlett_window, blackman_window, hamming_window,
                            hann_window, kaiser_window, range, scalar_tensor, unravel_index)
from .functional import misc as _misc
from .functional.complex import complex, polar, view_as_complex, view_as_real
from ._memory_format import (layout, sparse_bsc, sparse_bsr, sparse_coo, sparse_csc,
                             sparse_csr, strided)
from ._dtype_class import dtype  # torch.dtype: isinstance(x.dtype, xpnn.dtype) holds
from . import quasirandom, signal  # torch.quasirandom.SobolEngine, torch.signal.windows
from .histogramdd import histogramdd
from .lowrank import pca_lowrank, svd_lowrank
from .sampled_gradient import gradient  # torch.gradient
from .foreach import *  # noqa: E402,F401,F403  torch._foreach_add_ ... (foreach.__all__)
from .torch_names import (adaptive_max_pool1d, batch_norm, constant_pad_nd, ctc_loss, default_generator,
                          empty_strided, frobenius_norm, frombuffer, get_device,
                          instance_norm, is_inference, is_warn_always_enabled, nuclear_norm,
                          set_default_tensor_type, set_flush_denormal, set_warn_always)

from . import version  # torch.version
from .version import __version__

# dtypes as PyTorch names them; each equals that dtype of every backend (see DType)
float16 = half = DType("float16")
bfloat16 = DType("bfloat16")
float32 = float = DType("float32")
float64 = double = DType("float64")
int8 = DType("int8")
int16 = short = DType("int16")
int32 = int = DType("int32")
int64 = long = DType("int64")
uint8 = DType("uint8")
uint16, uint32, uint64 = DType("uint16"), DType("uint32"), DType("uint64")
bool = DType("bool")
complex64 = cfloat = DType("complex64")
complex128 = cdouble = DType("complex128")


pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
newaxis = None


def is_tensor(obj):
    """True for an xpnn Tensor or a sparse COO tensor (PyTorch's answer for both; a
    SparseTensor is not a Tensor subclass, so ``isinstance(s, Tensor)`` stays False)."""
    return isinstance(obj, (Tensor, sparse.SparseTensor))


def is_floating_point(input):
    return input.is_floating_point()


for _name in _misc.METHOD_FUNCTIONS:  # torch.clone(x), torch.relu_(x), ...
    if hasattr(Tensor, _name) and _name not in globals():
        globals()[_name] = _misc.calls_method(_name)

del (_anomaly, _autograd_functional, _autograd_function, _autograd_grad_mode, _backend, _cpu_amp,
     _math, _misc, _name, _nn_modules)
