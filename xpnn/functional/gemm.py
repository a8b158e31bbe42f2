"""The native kernels of the matrix products (linalg.py's MatMul and Linear, conv,
recurrent, attention): :func:`mm2d` for a 2-D product (plus an optional bias), which takes
the backend's native kernel from ``MATMUL`` when it has one, with its variants
(:func:`mm2d_start`, :func:`mm2d_pair`, :func:`reused`, :func:`product_loop`), and
:func:`array_matmul` for stacks (``BATCHED_MATMUL``).

NumPy's kernel cuts the output into a few blocks of rows or columns (the longer side), one
single-threaded BLAS call per block writing its block of the one output array, and runs the
blocks on xpnn's CPU threads (see xpnn/cpu). The cut is fixed by the shape and the
machine's core count, never by the thread count of the moment (which follows the load):
OpenBLAS's kernels may round an element by where its row or column falls in a call (its
AVX2 "Haswell" kernels do: a 1024 x 784 x 256 product cut in two rows or columns differs
from one call in the last bit; its AVX-512 ones differed only for a 16-column block, in
our tests), so a cut that followed the load made results follow it too. One thread runs
the same blocks in turn. CuPy's calls cuBLAS's gemm directly on the operands' own layouts.
"""
from __future__ import annotations

import contextlib
import ctypes
import math
from functools import partial

from .. import cpu
from ..backend import kernel_floats


GEMM_GRAIN = 1 << 22  # multiply-adds per thread below which splitting a product loses


def _mm_portable(be, A, B, bias=None, bias_dim=1):
    Y = A @ B
    if bias is not None:  # Y is fresh: adding in place saves one temporary
        Y += bias if bias_dim == 1 else be.xp.reshape(bias, (-1, 1))
    return Y


def _product_blocks(M, K, N):
    """How many blocks NumPy's kernel cuts an (M, K) @ (K, N) product into: fixed by the
    shape and the machine's cores (:func:`xpnn.cpu.pool.blocks`), whatever the load.

    A small output over a long inner dimension (a convolution's weight gradient summed over
    every position, (32, 86528) @ (86528, 9)) stays whole: cut by rows or columns, each
    block reads and packs all of the long operand, and even pieces of K ran no faster on
    two threads than on one (measured; OpenBLAS's tiny-N kernels do not scale here)."""
    return 1 if M * N * 64 <= K else cpu.pool.blocks(M * N * K, GEMM_GRAIN)


def _mm_numpy(be, A, B, bias=None, bias_dim=1):
    """A @ B (+ bias) for 2-D NumPy arrays, split over xpnn's CPU threads (module
    docstring); each block gets its share of the bias while it is still in cache. ``B`` may
    be a :class:`Reused` matrix, whose column blocks are kept as contiguous copies."""
    return _mm_numpy_start(be, A, B, bias, bias_dim)()


def _mm_numpy_start(be, A, B, bias=None, bias_dim=1, lead=0.0):
    """:func:`_mm_numpy` started: the helper threads' blocks run from now on, the caller's
    when the function returned is first called (it returns the product; later calls just
    return it). ``lead``: the fraction of an even share by which the caller's block is
    smaller, for a caller that starts it late."""
    cpu.tick()
    reused = B if isinstance(B, Reused) else None
    if reused is not None:
        B = reused.matrix
    M, K = A.shape
    N = B.shape[1]
    n = _product_blocks(M, K, N)
    if n == 1:
        out = _mm_portable(be, A, B, bias, bias_dim)
        return lambda: out
    np = be.lib
    out = np.empty((M, N), dtype=np.result_type(A.dtype, B.dtype))
    if bias is not None and bias_dim == 0:
        bias = bias[:, None]
    cols = N >= M
    bounds = cpu.chunks(N if cols else M, n, 16)
    if lead and len(bounds) > 1:
        a, b = bounds[-1]
        cut = b - int((b - a) * (1 - lead)) // 16 * 16
        bounds = cpu.chunks(cut, len(bounds) - 1, 16) + [(cut, b)]
    if not cols:
        parts = [B] * len(bounds)
    elif reused is not None:
        parts = reused.columns(np, bounds)
    else:
        parts = [B[:, a:b] for a, b in bounds]
    tasks = [partial(_mm_block, np, A, part, out, bias, bias_dim, cols, a, b)
             for part, (a, b) in zip(parts, bounds)]
    finish = [cpu.pool.start(cpu.pool.grouped(tasks, cpu.workers(M * N * K, GEMM_GRAIN)))]

    def result():
        if finish:
            finish.pop()()
        return out
    return result


def _mm_block(np, A, B, out, bias, bias_dim, cols, a, b):
    """Columns a:b of the output (``B`` is then B[:, a:b]) or rows a:b (the whole B)."""
    if cols:
        blk = np.matmul(A, B, out=out[:, a:b])
        if bias is not None:
            blk += bias[a:b] if bias_dim == 1 else bias
    else:
        blk = np.matmul(A[a:b], B, out=out[a:b])
        if bias is not None:
            blk += bias if bias_dim == 1 else bias[a:b]


class Reused:
    """A matrix that many :func:`mm2d` products take as ``B`` (a recurrence's weights, at
    every step), with the column blocks that the products hand to the CPU threads kept as
    contiguous copies, made at first use for each cut: BLAS packs a strided block more
    slowly (LSTM 64x64x256 training step, alternating in one process: median 81.5 -> 80.1
    ms, best 79.7 -> 77.4). Only NumPy's kernel splits products, so :func:`reused` makes
    these for NumPy only."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.cuts = {}

    def columns(self, np, bounds):
        key = tuple(bounds)
        got = self.cuts.get(key)
        if got is None:
            got = self.cuts[key] = [np.ascontiguousarray(self.matrix[:, a:b])
                                    for a, b in bounds]
        return got


def _gemm_layout(X):
    """How cuBLAS (column-major) reads a 2-D CuPy array as the transpose the row-major
    product needs: (0 = CUBLAS_OP_N, leading dimension) for rows of unit stride, (1 =
    CUBLAS_OP_T, ld) for columns of unit stride, None for any other layout."""
    (r, c), size = X.shape, X.itemsize
    s0, s1 = X.strides
    if s0 % size or s1 % size:
        return None
    s0, s1 = s0 // size, s1 // size
    if s1 == 1 and s0 >= max(1, c):
        return 0, s0  # CUBLAS_OP_N
    if s0 == 1 and s1 >= max(1, r):
        return 1, s1  # CUBLAS_OP_T
    return None


# dtype name -> (cuBLAS gemm, address of a host 1, of a host 0, and the two ctypes values
# that those addresses belong to, kept alive here), made on first use
_GEMM = {}


def _mm_cupy(be, A, B, bias=None, bias_dim=1):
    """``A @ B`` (+ bias) for 2-D float32/float64 CuPy arrays by one call of cuBLAS's gemm,
    computing the row-major product as the column-major C^T = B^T A^T (no copies; either
    operand may be transposed). ``A @ B`` goes through CuPy's general matmul, whose Python
    side took ~26 us a call on an H200's host (profiled in the LSTM benchmark), more than a
    recurrence step's product itself. Anything else takes ``A @ B``."""
    lib, dt = be.lib, str(A.dtype)
    if not kernel_floats(A, B) or 0 in A.shape or 0 in B.shape or \
            A.device.id != lib.cuda.runtime.getDevice():
        return _mm_portable(be, A, B, bias, bias_dim)
    la, lb = _gemm_layout(A), _gemm_layout(B)
    if la is None or lb is None:
        return _mm_portable(be, A, B, bias, bias_dim)
    gemm = _GEMM.get(dt)
    if gemm is None:  # alpha = 1 and beta = 0 in host memory, where cuBLAS reads them
        cublas, scalar = lib.cuda.cublas, ctypes.c_float if dt == "float32" else ctypes.c_double
        one, zero = scalar(1.0), scalar(0.0)
        gemm = _GEMM[dt] = (cublas.sgemm if dt == "float32" else cublas.dgemm,
                            ctypes.addressof(one), ctypes.addressof(zero), one, zero)
    fn, one, zero = gemm[:3]
    (M, K), N = A.shape, B.shape[1]
    Y = lib.empty((M, N), dtype=A.dtype)
    fn(lib.cuda.device.get_cublas_handle(), lb[0], la[0], N, M, K, one, B.data.ptr, lb[1],
       A.data.ptr, la[1], zero, Y.data.ptr, N)
    if bias is not None:
        Y += bias if bias_dim == 1 else be.xp.reshape(bias, (-1, 1))
    return Y


# Native 2-D matrix products by backend name; every other backend takes ``A @ B``.
MATMUL = {"numpy": _mm_numpy, "cupy": _mm_cupy}


def _split(be):
    """Whether ``be``'s products are split over xpnn's CPU threads (NumPy's kernel)."""
    return MATMUL.get(be.name) is _mm_numpy


def mm2d(be, A, B, bias=None, bias_dim=1):
    """``A @ B`` for two 2-D arrays of backend ``be`` (its native kernel if it has one), plus
    ``bias`` if given: a vector along the output's columns (``bias_dim=1``, as in linear) or
    its rows (``bias_dim=0``, as in a convolution's (out_channels, positions) product)."""
    return MATMUL.get(be.name, _mm_portable)(be, A, B, bias, bias_dim)


def mm2d_start(be, A, B, lead=0.0):
    """:func:`mm2d` (no bias) in two halves, for a loop that has other work to do meanwhile:
    returns a function that returns ``A @ B``. Where NumPy's kernel splits the product over
    xpnn's CPU threads, the helper threads start their blocks now and the caller's block runs
    at the function's first call, so what the caller does in between runs while the helpers
    wake up and work (an LSTM step's saved values, during the next step's product); no other
    product may run before that call. ``lead``: the fraction of an even share by which the
    caller's block is smaller, for the work it does first (a fixed figure per call site, so
    that the cut, and with it every bit of the result, stays fixed). Elsewhere the product
    is computed now. Call it in a ``finally`` too where an error could skip the call: later
    calls only return the product."""
    if MATMUL.get(be.name) is _mm_numpy:
        return _mm_numpy_start(be, A, B, lead=lead)
    out = mm2d(be, A, B)
    return lambda: out


def product_loop(be):
    """A context around a loop of many small :func:`mm2d` products (a recurrence's steps):
    where ``be``'s products are split over xpnn's CPU threads, the helper threads spin
    between them instead of sleeping (:func:`xpnn.cpu.pool.hot`); elsewhere nothing."""
    return cpu.pool.hot() if _split(be) else contextlib.nullcontext()


def reused(be, B):
    """``B`` (2-D) for many :func:`mm2d` products: a :class:`Reused` wrapper where the
    backend's products are split over xpnn's CPU threads, else ``B`` itself."""
    return Reused(B) if _split(be) else B


def _bmm_numpy(be, A, B):
    """Stacks of matrix products with one leading shape, the stack split over xpnn's CPU
    threads (each matrix's product is the same BLAS call as in one ``A @ B``)."""
    cpu.tick()
    M, K, N = A.shape[-2], A.shape[-1], B.shape[-1]
    n = min(cpu.workers(math.prod(A.shape[:-2]) * M * N * K, GEMM_GRAIN), A.shape[0])
    if n <= 1:
        return A @ B
    np = be.lib
    out = np.empty(A.shape[:-1] + (N,), dtype=np.result_type(A.dtype, B.dtype))
    cpu.parallel([partial(np.matmul, A[a:b], B[a:b], out=out[a:b])
                  for a, b in cpu.chunks(A.shape[0], n)])
    return out


# Native stacked matrix products (same leading shape, no broadcasting) by backend name.
BATCHED_MATMUL = {"numpy": _bmm_numpy}


def array_matmul(be, A, B):
    """``A @ B`` for arrays of backend ``be`` with its native kernels: :func:`mm2d` for two
    matrices, ``BATCHED_MATMUL`` for two stacks of one leading shape, else ``A @ B``."""
    if A.ndim == 2 and B.ndim == 2:
        return mm2d(be, A, B)
    native = BATCHED_MATMUL.get(be.name)
    if native is not None and A.ndim == B.ndim and A.ndim > 2 and \
            tuple(A.shape[:-2]) == tuple(B.shape[:-2]):
        return native(be, A, B)
    return A @ B


def _pair_pays(A, B):
    """Whether NumPy's kernel cuts ``A @ B`` into exactly two blocks."""
    return _product_blocks(A.shape[0], A.shape[1], B.shape[1]) == 2


def _store_product(out, i, A, B):
    out[i] = A @ B


def mm2d_pair(be, A1, B1, A2, B2):
    """``(A1 @ B1, A2 @ B2)`` for two independent 2-D products of the same work (a linear
    layer's dX and dW: both M N K multiply-adds). Where NumPy's kernel would cut each into
    two blocks, they run whole instead, at once on two threads (or one after the other when
    the load leaves one): one hand-off to the helper thread where two splits cost two, and
    whole products run faster than halves (backward of a 256 x 256 linear layer at batch
    256: 502 -> 395 us; 2048 x 128 -> 512: 3.04 -> 2.87 ms). The choice depends on the
    shapes and the machine, not on the load, like :func:`mm2d`'s cut."""
    if MATMUL.get(be.name) is _mm_numpy and A1.ndim == B1.ndim == A2.ndim == B2.ndim == 2:
        cpu.tick()
        if _pair_pays(A1, B1) and _pair_pays(A2, B2):
            out = [None, None]
            tasks = [partial(_store_product, out, 0, A1, B1),
                     partial(_store_product, out, 1, A2, B2)]
            work = A1.shape[0] * A1.shape[1] * B1.shape[1]
            cpu.parallel(cpu.pool.grouped(tasks, cpu.workers(2 * work, GEMM_GRAIN)))
            return out[0], out[1]
    return mm2d(be, A1, B1), mm2d(be, A2, B2)
