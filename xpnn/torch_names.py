"""PyTorch's smaller top-level names that programs reach for: the deprecated norms
(``nuclear_norm``, ``frobenius_norm``), the native-signature forms of batch/instance
normalization and CTC loss, ``constant_pad_nd``, ``empty_strided``, ``frombuffer``,
``default_generator``, the global switches (``set_flush_denormal``, ``set_warn_always``,
``set_default_tensor_type``) and the queries ``get_device`` and ``is_inference``. Each forwards to the op xpnn already has.
"""
from __future__ import annotations

import warnings

from . import backend as B
from . import linalg as _linalg
from . import random as _random
from . import cuda as _cuda
from ._settings import set_default_device
from .cuda import _CUDA_TYPES
from .creation import _HOST_TYPES
from .dtypes import set_default_dtype
from ._errors import ArgumentError, ShapeError
from .autograd import TensorBase
from .creation import Generator, empty, from_numpy, tensor
from .functional import batch_norm as _batch_norm, ctc_loss as _ctc_loss, pad as _pad
from .functional import instance_norm as _instance_norm

__all__ = ["adaptive_max_pool1d", "batch_norm", "constant_pad_nd", "ctc_loss", "default_generator", "empty_strided",
           "frobenius_norm", "frombuffer", "get_device", "instance_norm", "is_inference",
           "is_warn_always_enabled", "nuclear_norm", "set_default_tensor_type",
           "set_flush_denormal", "set_warn_always"]


def _tensor(op, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    return x


# -- norms (deprecated in PyTorch, kept for old code) ---------------------------------------
def nuclear_norm(input, dim=None, keepdim=False):
    """The sum of the singular values over ``dim`` (the last two dims by default), as
    ``torch.nuclear_norm`` (= ``linalg.matrix_norm(input, 'nuc', dim, keepdim)``).
    ``nuclear_norm(x, keepdim)`` with a bool second argument is PyTorch's other form."""
    _tensor("nuclear_norm", input)
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    if isinstance(dim, int):  # PyTorch reads one int as the pair (dim, dim): refused there
        dim = (dim, dim)
    return _linalg.matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim),
                               keepdim=keepdim)


def frobenius_norm(input, dim, keepdim=False):
    """The 2-norm of the entries over ``dim`` (one int or a tuple), as
    ``torch.frobenius_norm`` (= ``linalg.vector_norm(input, 2, dim, keepdim)``)."""
    _tensor("frobenius_norm", input)
    return _linalg.vector_norm(input, 2, dim=dim, keepdim=keepdim)


# -- native-signature forms of F's ops ----------------------------------------------------------
def adaptive_max_pool1d(input, output_size):
    """``torch.adaptive_max_pool1d``: (values, indices), where F's form returns the values
    unless ``return_indices=True``."""
    from .functional import adaptive_max_pool1d as _pool
    return _pool(input, output_size, return_indices=True)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled):
    """``torch.batch_norm``: F.batch_norm with ATen's argument order (cudnn_enabled is
    accepted and ignored)."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                       eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled):
    """``torch.instance_norm``: F.instance_norm with ATen's argument order."""
    return _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                          momentum, eps)


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    """``torch.ctc_loss``: F.ctc_loss with ATen's integer ``reduction`` (0 none, 1 mean,
    2 sum). PyTorch 2.13 returns the per-sample losses when ``reduction`` is left out (its
    binding's default), so this does too."""
    if isinstance(reduction, bool) or reduction not in _REDUCTIONS:
        raise TypeError(f"ctc_loss: reduction must be an int 0 (none), 1 (mean) or 2 (sum), "
                        f"got {reduction!r} (F.ctc_loss takes the names)")
    return _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank,
                     reduction=_REDUCTIONS[reduction], zero_infinity=zero_infinity)


def constant_pad_nd(input, pad, value=0):
    """``torch.constant_pad_nd``: F.pad in constant mode (negative pads crop)."""
    return _pad(_tensor("constant_pad_nd", input), list(pad), mode="constant", value=value)


# -- creation -------------------------------------------------------------------------------------
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False, backend=None):
    """An uninitialized tensor of ``size``, as ``torch.empty_strided``. xpnn's arrays own
    their layout, so ``stride`` is checked (one per dim) but the result is contiguous:
    ``.stride()`` reports the contiguous strides, not the ones asked for."""
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise ShapeError(f"empty_strided: dimensionality of sizes ({len(size)}) must match "
                         f"dimensionality of strides ({len(stride)})")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in stride):
        raise ArgumentError(f"empty_strided: strides must be non-negative ints, got {stride}")
    return empty(*size, dtype=dtype, device=device, requires_grad=requires_grad,
                 backend=backend)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False, backend=None):
    """A 1-D tensor of the bytes of a Python buffer (bytes, bytearray, memoryview, array)
    read as ``dtype``, as ``torch.frombuffer``: ``count`` items (-1: all) after ``offset``
    bytes. On NumPy (the default backend) the tensor shares the buffer's memory, as
    PyTorch's does; other backends get a copy."""
    name = B.dtype_name(dtype)
    if name not in B.DTYPES or name == "bfloat16":
        raise TypeError(f"frombuffer: dtype {dtype!r} is not supported")
    size = B.np.dtype(name).itemsize
    total = memoryview(buffer).nbytes
    if not 0 <= offset < max(total, 1) or (total == 0):
        raise ValueError(f"frombuffer: both buffer length ({total}) and offset ({offset}) "
                         f"must be positive and offset must be less than the buffer length")
    if count == -1 and (total - offset) % size:
        raise ValueError(f"buffer length ({total - offset} bytes) after offset ({offset} "
                         f"bytes) must be a multiple of element size ({size})")
    if count == 0 or count < -1 or (count > 0 and offset + count * size > total):
        raise ValueError(f"frombuffer: requested buffer length ({count} * {size} bytes) "
                         f"after offset ({offset} bytes) must not be greater than actual "
                         f"buffer length ({total} bytes)")
    arr = B.np.frombuffer(buffer, dtype=name, count=count, offset=offset)
    be = B.get_backend() if backend is None else B.get_backend(backend)
    out = from_numpy(arr) if be.name == "numpy" else tensor(arr, backend=backend)
    return out.requires_grad_(requires_grad) if requires_grad else out


# -- generators and switches --------------------------------------------------------------------
class _DefaultGenerator(Generator):
    """``torch.default_generator``: the global streams (each backend's own generator, the
    host generator of parameter init) behind the Generator API. Seeding it is
    :func:`xpnn.manual_seed`; passing it as ``generator=`` draws from the backend's own
    stream, as passing nothing does."""

    def __init__(self):
        self.device = "cpu"
        self._streams = {}

    def manual_seed(self, seed):
        B.manual_seed(int(seed))
        return self

    def seed(self):
        return _random.seed()

    def initial_seed(self):
        return B.initial_seed()

    def get_state(self):
        return _random.get_rng_state()

    def set_state(self, state):
        _random.set_rng_state(state)
        return self

    def for_backend(self, be):
        return be.rng

    def __repr__(self):
        return "<xpnn.default_generator>"


default_generator = _DefaultGenerator()

_warn_always = {"on": False}


def set_warn_always(b):
    """``torch.set_warn_always``: remembered for :func:`is_warn_always_enabled` (xpnn's
    own once-per-process warnings do not consult it)."""
    _warn_always["on"] = bool(b)


def is_warn_always_enabled():
    return _warn_always["on"]


def set_flush_denormal(mode):
    """``torch.set_flush_denormal``: True when the CPU's denormal mode is as asked. xpnn
    cannot switch the array libraries' floating-point modes, so flushing (``True``) is
    refused with False and leaving denormals alone (``False``, the default) succeeds."""
    return not mode


def set_default_tensor_type(t):
    """``torch.set_default_tensor_type`` (deprecated in PyTorch, kept for old code): ``t`` a
    legacy floating class (``xpnn.FloatTensor``, ``xpnn.cuda.DoubleTensor``...) or its name
    (``"torch.cuda.FloatTensor"``) sets the default dtype and, by the class's device, the
    default device (CPU or CUDA), as ``set_default_dtype`` and ``set_default_device`` do.
    Warns that it is deprecated, as PyTorch's."""
    warnings.warn("set_default_tensor_type() is deprecated (as in PyTorch since 2.1): use "
                  "set_default_dtype() and set_default_device()", UserWarning, stacklevel=2)
    if isinstance(t, str):
        mod, _, name = t.rpartition(".")
        table = _CUDA_TYPES if mod in ("torch.cuda", "xpnn.cuda") else \
            _HOST_TYPES if mod in ("torch", "xpnn") else {}
        if name not in table:
            raise TypeError(f"set_default_tensor_type: invalid type {t!r}")
        t = table[name]
    dtype = getattr(t, "legacy_dtype", None)
    if dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise TypeError(f"set_default_tensor_type: only floating-point types are supported "
                        f"as the default type, got {t!r}")
    if t.is_cuda and not _cuda.is_available():
        raise TypeError(f"set_default_tensor_type: {t!r} is not available: no CUDA device "
                        "here (CuPy with a GPU, or torch's CUDA)")
    set_default_dtype(dtype)
    set_default_device("cuda" if t.is_cuda else None)


def get_device(input):
    """-1 on the CPU, else the device's index (``torch.get_device``)."""
    return _tensor("get_device", input).get_device()


def is_inference(input):
    """``torch.is_inference``: whether ``input`` was made under ``inference_mode`` (a view:
    whether its base was), as :meth:`Tensor.is_inference`."""
    return _tensor("is_inference", input).is_inference()
