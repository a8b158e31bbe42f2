"""How xpnn uses the CPU: thread counts decided while it runs, and the allocator's settings.

Threads. A multithreaded BLAS (OpenBLAS in NumPy's wheels) splits each matrix product evenly
over its threads and waits for the slowest; between products its idle threads spin on their
cores. On a machine where another process holds a core, the thread that shares that core
runs at half speed or worse, and with it the whole product, while the spinning threads take
CPU from everyone: on this project's 2-core machine, with other jobs running (load ~7), the
MLP of benchmarks/compare.py trained at 452 samples/s on a 2-thread OpenBLAS and at 10,712
on one thread. So xpnn runs NumPy's BLAS on one thread and parallelizes its CPU work
itself, on a small pool of helper threads that wait for work on a lock (no spinning; the
caller, which has nothing else to do while a region's helpers finish, waits for them on a
spinlock without the GIL, so that a helper that finishes never waits for the GIL):

- matrix products are cut into blocks of output rows or columns, one single-threaded BLAS
  call per block (:func:`xpnn.functional.gemm.mm2d`). How a product is cut follows its
  shape and the machine's core count (:func:`pool.blocks`), not the thread count of the
  moment: a BLAS may round an element by where it falls in a call (OpenBLAS's AVX2 kernels
  do), so results would otherwise follow the load. With fewer threads than blocks (a busy
  machine) a thread runs several blocks in turn: results do not depend on the thread
  count (tests/test_cpu.py checks it with OpenBLAS's AVX2 kernels too);
- a linear layer's or convolution's backward has two products of the same work (dX and
  dW): where each would be cut in two, both run whole instead, at once on two threads
  (:func:`xpnn.functional.gemm.mm2d_pair`: one hand-off instead of two, and whole
  products run faster than halves);
- large elementwise kernels (ReLU, max pooling, im2col/col2im, Adam) run over blocks of
  their arrays (:func:`split_flat`, :func:`split_rows`).

Hot regions. A sleeping helper costs a wake-up each time it is handed a block (on this
project's 2-core VM ~15 us on the caller and ~35 us before the helper runs), which matters
when products are small and many: an LSTM step runs 128 of 0.2 ms each. Inside
``xpnn.cpu.pool.hot()`` the helpers instead wait spinning on a pthread spinlock, called
through ctypes so that the GIL is free while they spin; the recurrent layers run their step
loops in one (measured: LSTM step 90 -> 87 ms). The helpers hold their cores for the
region, so it is used around loops only, and not at all with one thread. Even a spinning
helper starts ~45 us after its hand-off (it must take the GIL from the caller), so a loop
with other work per step can start a region first and finish it later
(:func:`pool.start`): the LSTM hands out the next step's product and computes the step's
saved values meanwhile (:func:`xpnn.functional.gemm.mm2d_start`).

How many threads (:func:`get_num_threads`):

- ``"auto"`` (the default): every half second (looked at lazily by the ops that run matrix
  products; no background thread) xpnn measures how much CPU time *other* processes took on
  this process's cores (Linux: ``/proc/stat`` minus this process's own CPU time) and uses
  the cores left over: all of them on a quiet machine, one when another process keeps a
  core busy. It steps down at once and back up after two looks in a row agree. Where the
  load cannot be read (not Linux), it uses every core.
- a fixed count: ``xpnn.set_num_threads(n)`` (PyTorch's name; it also sets torch's pool if
  torch is loaded) or the environment variable ``XPNN_NUM_THREADS=n``;
  ``set_num_threads("auto")`` or ``XPNN_NUM_THREADS=auto`` return to the policy.
- someone else's choice wins: with ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` (or MKL's)
  set in the environment, or when the BLAS's count was changed behind xpnn's back
  (threadpoolctl's ``threadpool_limits``, for instance), xpnn leaves the BLAS alone and runs
  its own kernels on one thread (:func:`thread_policy` says ``"external"``).

NumPy's BLAS stays on one thread for the whole process once xpnn has run a product (the
count is per process): NumPy products of your own then run on one thread too. Set
``OPENBLAS_NUM_THREADS`` (or call threadpoolctl) to keep a multithreaded BLAS instead.

Allocator. Training allocates and frees the same large arrays (activations, gradients,
im2col buffers) at every step. glibc's malloc serves arrays above its mmap threshold with
fresh pages from the kernel and hands freed heap memory back at once, so every step pays a
page fault per 4 KiB of each large array (measured: 30% of a CNN training step's CPU time).
At import xpnn raises the mmap threshold to glibc's maximum (32 MiB) and the trim threshold
to 128 MiB, so freed pages stay in the process and the next step reuses them. Set
``XPNN_MALLOC=default`` (or glibc's own ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``)
to keep glibc's defaults. The settings are per process, so a PyTorch model trained in the
same process gains too (measured: torch's MLP at batch 64, 26k -> 45k samples/s). Nothing
here changes any computed value.

OpenBLAS's kernels. On AMD Zen 4 OpenBLAS picks its AVX-512 kernels, which run slower there
than its AVX2 ones (5-10% on single-precision products); ``import xpnn`` before NumPy sets
OPENBLAS_CORETYPE=Haswell on such CPUs, where the user has not set it
(:data:`blas_coretype` says whether it did; xpnn/_coretype.py has the details and figures).
On Zen 5 OpenBLAS picks its AVX-512 kernels itself, twice as fast there as its AVX2 ones.
An OPENBLAS_CORETYPE in the environment always wins; :func:`blas_kernels` says which set
NumPy's OpenBLAS runs.

Files: ``policy.py`` (the thread count: BLAS control, the load measure, the switches),
``pool.py`` (the helper threads and the helpers that split kernels), ``allocator.py``.
"""
from __future__ import annotations

from .. import _coretype
from . import allocator, policy, pool  # noqa: F401  (xpnn.cpu.pool.workers, ...)
from .allocator import allocator_tuned
from .policy import cores, get_num_threads, set_num_threads, thread_policy, tick
from .policy import _policy, _Policy  # noqa: F401  (read by tests and benchmarks)
from .pool import chunks, flat_views, parallel, split_flat, split_rows, workers

blas_coretype = _coretype.chosen  # "Haswell" where xpnn chose OpenBLAS's kernels, else None


def blas_kernels():
    """The kernel set NumPy's OpenBLAS runs ("Haswell": AVX2, "SkylakeX": AVX-512, ...), or
    None where NumPy's BLAS is not an OpenBLAS that says (xpnn/_coretype.py)."""
    found = policy._policy._blas()  # found once per process, as the thread policy's
    return None if found is None else _coretype.corename(found.path)


__all__ = ["allocator_tuned", "blas_coretype", "blas_kernels", "chunks", "cores",
           "current_device", "device_count", "flat_views", "get_num_threads", "is_available",
           "parallel", "set_num_threads", "split_flat", "split_rows", "synchronize",
           "thread_policy", "tick", "workers"]


# -- torch.cpu's names, for programs that ask ---------------------------------------------


def is_available():
    """True: the CPU is always there (``torch.cpu.is_available``)."""
    return True


def device_count():
    """1, as ``torch.cpu.device_count`` (one CPU device, however many cores)."""
    return 1


def current_device():
    """``"cpu"``, as ``torch.cpu.current_device``."""
    return "cpu"


def synchronize(device=None):
    """Nothing to wait for on the CPU (``torch.cpu.synchronize``)."""
    del device
