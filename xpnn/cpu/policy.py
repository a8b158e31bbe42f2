"""The thread-count policy: how many threads xpnn's CPU work uses, and who decides (the
load-following default, a fixed count, or someone else's BLAS setting). See xpnn.cpu."""
from __future__ import annotations

import ctypes
import math
import os
import sys
import threading
import time

PERIOD = 0.5          # seconds between looks at the machine's load
FIRST_LOOK = 0.1      # the first look comes sooner, so a short run adapts too
SPARE = 0.5           # a core counts as free when more than half of it is idle (see _want)
_BLAS_ENV = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS")

# -- the cores this process may use ------------------------------------------------------


def _allowed_cpus():
    """The CPU ids this process may run on (its affinity), or None where unknown."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _quota():
    """The cgroup (v2) CPU quota in cores, or None when there is none."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else max(1, int(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def cores():
    """How many cores this process may use: its CPU affinity, capped by a cgroup quota."""
    cpus = _allowed_cpus()
    n = len(cpus) if cpus else (os.cpu_count() or 1)
    q = _quota()
    return min(n, q) if q else n


# -- NumPy's BLAS ------------------------------------------------------------------------

# (set, get) symbol names per BLAS: NumPy's wheels ship OpenBLAS with a scipy_ prefix and a
# 64_ suffix; conda's NumPy links MKL or a plain OpenBLAS; some builds use BLIS.
_SYMBOLS = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
            ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
            ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
            ("openblas_set_num_threads", "openblas_get_num_threads"),
            ("MKL_Set_Num_Threads", "MKL_Get_Max_Threads"),
            ("bli_thread_set_num_threads", "bli_thread_get_num_threads"))


class _Blas:
    """Set and read the thread count of the BLAS that NumPy calls, through ctypes."""

    def __init__(self, path, set_fn, get_fn):
        self.path, self._set, self._get = path, set_fn, get_fn

    def set(self, n):
        self._set(int(n))

    def get(self):
        return int(self._get())

    @classmethod
    def find(cls):
        """The BLAS library NumPy loaded, or None (no known BLAS, or not a shared library)."""
        for path in _blas_paths():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for set_name, get_name in _SYMBOLS:
                set_fn, get_fn = getattr(lib, set_name, None), getattr(lib, get_name, None)
                if set_fn is not None and get_fn is not None:
                    set_fn.argtypes, set_fn.restype = [ctypes.c_int], None
                    get_fn.argtypes, get_fn.restype = [], ctypes.c_int
                    return cls(path, set_fn, get_fn)
        return None


def _blas_paths():
    """Paths of loaded shared libraries that look like NumPy's BLAS, most likely first."""
    paths = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rstrip("\n").split(None, 5)[-1]
                if path.startswith("/") and path not in paths:
                    paths.append(path)
    except OSError:  # not Linux: ask threadpoolctl where the libraries are, if it is here
        try:
            from threadpoolctl import threadpool_info
            paths = [i["filepath"] for i in threadpool_info() if i.get("user_api") == "blas"]
        except ImportError:
            return []
    names = ("openblas", "mkl_rt", "blis")
    found = [p for p in paths if any(n in os.path.basename(p).lower() for n in names)]
    # NumPy's own copy first (numpy.libs/, numpy/.dylibs); SciPy's and torch's are not ours
    found.sort(key=lambda p: (("numpy" not in p), ("scipy" in p or "torch" in p)))
    return found


# -- other processes' load ---------------------------------------------------------------


class _Load:
    """CPU time other processes took on our cores, in cores, between two looks (Linux)."""

    def __init__(self, cpus):
        self.cpus = None if cpus is None else {f"cpu{c}" for c in cpus}
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.last = self._sample()

    def _busy(self):
        """Busy seconds of our CPUs since boot (user, nice, system, irq, softirq, steal)."""
        total = 0
        with open("/proc/stat") as f:
            for line in f:
                if not line.startswith("cpu"):
                    break
                name, *fields = line.split()
                if name == "cpu" or (self.cpus is not None and name not in self.cpus):
                    continue
                v = [int(x) for x in fields[:8]]
                total += v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
        return total / self.tick

    def _sample(self):
        try:
            return time.monotonic(), self._busy(), time.process_time()
        except (OSError, ValueError, IndexError):
            return None

    def others(self):
        """Cores' worth of CPU time used by other processes since the last call, or None."""
        now = self._sample()
        if now is None or self.last is None:
            return None
        (t0, b0, o0), (t1, b1, o1) = self.last, now
        self.last = now
        if t1 - t0 <= 0:
            return None
        return max(0.0, ((b1 - b0) - (o1 - o0)) / (t1 - t0))


# -- the policy --------------------------------------------------------------------------


class _Policy:
    """The thread count for xpnn's CPU kernels (``current``) and who decides it (``mode``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cores = cores()
        self.mode = "auto"          # "auto", "fixed" or "external"
        self.current = self.cores   # threads for xpnn's kernels now
        self.blas = None            # _Blas, found on first use (False: none found)
        self.blas_one = False       # whether xpnn has set the BLAS to one thread
        self.load = None
        self.next_look = 0.0
        self.pending_up = 0
        env = os.environ.get("XPNN_NUM_THREADS", "").strip().lower()
        if env and env != "auto":
            try:
                n = int(env)
                if n < 1:
                    raise ValueError
            except ValueError:
                raise ValueError(f"XPNN_NUM_THREADS must be a positive int or 'auto', got "
                                 f"{env!r}") from None
            self.mode, self.current = "fixed", n
        elif not env and any(os.environ.get(v) for v in _BLAS_ENV):
            self.mode, self.current = "external", 1  # the user chose for the BLAS
        # the BLAS's count at import: if it differs when xpnn first takes the BLAS over,
        # someone set it in between (threadpoolctl, say) and keeps it
        blas = self._blas() if self.mode != "external" else None
        self.blas_initial = blas.get() if blas is not None else None
        if self.mode == "auto":
            self._watch()

    def _watch(self):
        """Start measuring the load (Linux with more than one core; else the count stays)."""
        if self.cores > 1 and os.path.exists("/proc/stat"):
            self.load = _Load(_allowed_cpus())
        self.next_look = time.monotonic() + FIRST_LOOK
        self.pending_up = 0

    def _blas(self):
        if self.blas is None:
            self.blas = _Blas.find() or False
        return self.blas or None

    def own_blas(self):
        """Give NumPy's BLAS one thread (xpnn splits its products itself), once; if the count
        changed since, someone else set it: stand back (mode "external")."""
        blas = self._blas()
        if blas is None or self.mode == "external":
            return
        now = blas.get()
        if not self.blas_one:
            if self.blas_initial is not None and now != self.blas_initial:
                self.mode, self.current = "external", 1
                return
            blas.set(1)
            self.blas_one = True
        elif now != 1:
            self.mode, self.current = "external", 1

    def look(self):
        """Re-decide the thread count from the load since the last look."""
        now = time.monotonic()
        with self.lock:
            if now < self.next_look:
                return
            self.next_look = now + PERIOD
            self.own_blas()
            if self.mode != "auto" or self.load is None:
                return
            others = self.load.others()
            if others is None:
                return
            want = self._want(others)
            if want < self.current:
                self.current, self.pending_up = want, 0
            elif want > self.current:
                self.pending_up += 1
                if self.pending_up >= 2:  # up only when two looks agree: no flapping
                    self.current, self.pending_up = want, 0
            else:
                self.pending_up = 0

    def _want(self, others):
        """Threads for ``others`` cores' worth of foreign load: the cores left, counting one
        as free only when more than half of it is idle (a thread on a core that is half
        busy elsewhere makes the whole product wait for it)."""
        free = self.cores - others
        return max(1, min(self.cores, int(math.floor(free + SPARE - 1e-9))))


_policy = _Policy()


def tick():
    """Called by ops before their matrix products: re-decides the thread count at most every
    half second (a clock read otherwise)."""
    if time.monotonic() >= _policy.next_look and _policy.mode != "external":
        _policy.look()


def set_num_threads(n):
    """Use ``n`` CPU threads for xpnn's CPU work (and torch's intra-op pool, if torch is
    loaded), or ``"auto"`` for xpnn's load-following policy (the default; see
    :mod:`xpnn.cpu`). Matrix products are cut into at most as many blocks as the machine
    has cores whatever ``n`` is (so that results do not depend on it): more threads than
    cores serve the elementwise kernels only.

    Args:
        n: an int >= 1, or the string ``"auto"``.
    """
    if isinstance(n, str) and n.strip().lower() == "auto":
        with _policy.lock:
            _policy.mode, _policy.current, _policy.blas_one = "auto", _policy.cores, False
            _policy.blas_initial = None
            _policy._watch()
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be an int >= 1 or 'auto', got {n!r}")
    with _policy.lock:
        _policy.mode, _policy.current, _policy.blas_one = "fixed", n, False
        _policy.blas_initial = None  # an explicit call takes the BLAS over, whoever set it
        _policy.next_look = 0.0
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(n)


def get_num_threads():
    """How many CPU threads xpnn's CPU work uses now: the policy's current choice, the fixed
    count, or (mode "external") the BLAS's own count."""
    if _policy.mode == "external":
        blas = _policy._blas()
        return blas.get() if blas is not None else 1
    return _policy.current


def thread_policy():
    """``"auto"``, ``"fixed"`` or ``"external"`` (the BLAS's count was chosen outside xpnn:
    xpnn's own kernels then run on one thread and the products on the BLAS's threads)."""
    return _policy.mode
