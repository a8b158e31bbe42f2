"""glibc's allocator settings for training (see xpnn.cpu): large arrays keep their pages in
the process from one step to the next."""
from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2 ** 20     # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 128 * 2 ** 20
_GLIBC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
              "MALLOC_MMAP_MAX_")


def _tune_allocator():
    """Keep large arrays' pages in the process between steps (glibc only; see above).
    Returns whether the settings were applied."""
    if os.environ.get("XPNN_MALLOC", "").strip().lower() in ("default", "0", "off"):
        return False
    if any(v in os.environ for v in _GLIBC_ENV):
        return False  # the user tuned glibc already
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, ValueError, OSError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


allocator_tuned = _tune_allocator()
