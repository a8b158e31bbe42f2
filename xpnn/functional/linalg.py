"""Matrix products: matmul, and linear (matmul + bias fused into one node).

Every 2-D product of the hot ops (linear, conv, recurrent, attention) goes through
:func:`mm2d`, which takes the backend's native kernel from ``MATMUL`` when it has one.
NumPy's cuts the output into a few blocks of rows or columns (the longer side), one
single-threaded BLAS call per block writing its block of the one output array, and runs the
blocks on xpnn's CPU threads (see xpnn/cpu). The cut is fixed by the shape and the
machine's core count, never by the thread count of the moment (which follows the load):
OpenBLAS's kernels may round an element by where its row or column falls in a call (its
AVX2 "Haswell" kernels do: a 1024 x 784 x 256 product cut in two rows or columns differs
from one call in the last bit; its AVX-512 ones differed only for a 16-column block, in
our tests), so a cut that followed the load made results follow it too. One thread runs
the same blocks in turn.
"""
from __future__ import annotations

import contextlib
import ctypes
import math
from functools import partial

from .. import cpu
from ..autograd import Function, TensorBase, _mixed, as_tensor
from ..backend import kernel_floats
from .elementwise import _saved_for, promote, unbroadcast, unbroadcast_graph
from .._errors import DtypeError, ShapeError
from .shape import reshape


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


# How much smaller the caller's block of a started product is (:func:`mm2d_start`), measured
# on the benchmark LSTM's 64 x 321 x 1024 step products: the caller starts its block 90-140
# us after the hand-off (it computes the step's saved values first), the helper ~45 us after
# (a thread wake-up and the GIL); with even blocks the caller ended ~50 us after the helper,
# with 1/8 less the two end within ~25 us of each other, either one first.
LEAD = 0.125


def mm2d_start(be, A, B):
    """:func:`mm2d` (no bias) in two halves, for a loop that has other work to do meanwhile:
    returns a function that returns ``A @ B``. Where NumPy's kernel splits the product over
    xpnn's CPU threads, the helper threads start their blocks now and the caller's block
    (:data:`LEAD` smaller) runs at the function's first call, so what the caller does in
    between runs while the helpers wake up and work (an LSTM step's saved values, during the
    next step's product); no other product may run before that call. Elsewhere the product
    is computed now. Call it in a ``finally`` too where an error could skip the call: later
    calls only return the product."""
    if MATMUL.get(be.name) is _mm_numpy:
        return _mm_numpy_start(be, A, B, lead=LEAD)
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


_product = array_matmul


class MatMul(Function):
    def forward(self, A, B):
        self.A, self.B = A, B
        self.saved_inputs = _saved_for(self.needs)
        return _product(self.be, A, B)

    def backward(self, dY):
        A, B, xp, be = self.A, self.B, self.xp, self.be
        # Y = A B  =>  dA = dY B^T,  dB = A^T dY  (batch dims summed where broadcast)
        dA = unbroadcast(xp, _product(be, dY, xp.matrix_transpose(B)), A.shape) \
            if self.needs[0] else None
        dB = unbroadcast(xp, _product(be, xp.matrix_transpose(A), dY), B.shape) \
            if self.needs[1] else None
        return dA, dB

    def backward_graph(self, dY):
        A, B = self.inputs
        dA = unbroadcast_graph(dY @ B.mT, A.shape) if self.needs[0] else None
        dB = unbroadcast_graph(A.mT @ dY, B.shape) if self.needs[1] else None
        return dA, dB


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


class Linear(Function):
    """Y = X W^T + b for X of shape (N, in), W (out, in), b (out,)."""

    fresh_grads = True  # dX, dW, db are each a new matmul/sum result

    def forward(self, X, W, b=None):
        self.X, self.W = X, W
        return mm2d(self.be, X, W.T, b)

    def backward(self, dY):
        X, W, xp, be = self.X, self.W, self.xp, self.be
        if self.needs[0] and self.needs[1]:
            dX, dW = mm2d_pair(be, dY, W, dY.T, X)
        else:
            dX = mm2d(be, dY, W) if self.needs[0] else None
            dW = mm2d(be, dY.T, X) if self.needs[1] else None
        if len(self.needs) == 2:
            return dX, dW
        return dX, dW, (xp.sum(dY, axis=0) if self.needs[2] else None)

    def backward_graph(self, dY):
        X, W = self.inputs[0], self.inputs[1]
        dX = dY @ W if self.needs[0] else None
        dW = dY.T @ X if self.needs[1] else None
        if len(self.needs) == 2:
            return dX, dW
        return dX, dW, (dY.sum(dim=0) if self.needs[2] else None)


def matmul(input, other):
    """Matrix product with NumPy's broadcasting rules (1-D operands promoted and squeezed)."""
    if isinstance(input, TensorBase) and isinstance(other, TensorBase) and \
            input._be is other._be and input.dtype != other.dtype:
        raise DtypeError(f"matmul: expected both operands to have the same dtype, got "
                        f"{input.dtype} and {other.dtype} (PyTorch refuses too: no silent "
                        "up- or down-cast); cast one of them")
    a, b = promote(input, other, "matmul", broadcast=False)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least one dim, got {a.shape} @ "
                         f"{b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[-1]} vs {b.shape[-2 if b.ndim > 1 else 0]})")
    for i in range(3, min(a.ndim, b.ndim) + 1):  # batch dims must broadcast
        if a.shape[-i] != b.shape[-i] and a.shape[-i] != 1 and b.shape[-i] != 1:
            raise ShapeError(f"matmul: the batch dims of {tuple(a.shape)} and "
                             f"{tuple(b.shape)} do not "
                             f"broadcast ({a.shape[-i]} vs {b.shape[-i]} at dim "
                             f"{-i}; each pair must be equal or one of them 1)")
    if a.ndim == 1:  # (n,) @ (..., n, m) -> (..., m); (n,) @ (n,) -> ()
        return reshape(matmul(reshape(a, (1, a.shape[0])), b),
                       b.shape[:-2] + (b.shape[-1],) if b.ndim > 1 else ())
    if b.ndim == 1:
        return reshape(MatMul.apply(a, reshape(b, (b.shape[0], 1))), a.shape[:-1])
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """Affine map ``x @ weight.T + bias`` over the last axis, as one graph node.

    Args:
        x: (..., in_features)
        weight: (out_features, in_features)
        bias: (out_features,) or None
    Returns:
        (..., out_features), the dtype of x
    """
    x = as_tensor(x, like=weight if isinstance(weight, TensorBase) else None, op="linear")
    if x._be is not weight._be:  # before the dtype check: torch.float32 != np.float32
        _mixed("linear", (x, weight))
    in_features = weight.shape[1]
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape "
                         f"{weight.shape} (expects last dim {in_features})")
    if x.dtype != weight.dtype:
        raise DtypeError(f"linear: input dtype {x.dtype} differs from weight dtype "
                        f"{weight.dtype}; cast the input (no silent up/down-cast)")
    lead = x.shape[:-1]
    if len(lead) != 1:
        x = reshape(x, (-1, in_features))
    y = Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)
    return y if len(lead) == 1 else reshape(y, lead + (weight.shape[0],))


def mm(input, mat2):
    """Product of two matrices (2-D only), as ``torch.mm``."""
    a, b = promote(input, mat2, "mm", broadcast=False)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expects two 2-D tensors, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def bmm(input, mat2):
    """Batched product of (b, n, m) and (b, m, p) tensors, as ``torch.bmm``."""
    a, b = promote(input, mat2, "bmm", broadcast=False)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expects (b, n, m) and (b, m, p) tensors, got shapes {a.shape} "
                         f"and {b.shape}")
    return matmul(a, b)


def outer(input, vec2):
    """Outer product of two 1-D tensors, (n,) x (m,) -> (n, m)."""
    a, b = promote(input, vec2, "outer", broadcast=False)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expects two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return MatMul.apply(reshape(a, (-1, 1)), reshape(b, (1, -1)))
