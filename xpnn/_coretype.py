"""OpenBLAS's kernel set on AMD Zen 4, chosen before NumPy loads its OpenBLAS (see xpnn.cpu).

OpenBLAS (0.3.31 in NumPy 2.4's wheels) runs its AVX-512 "SkylakeX" kernels on Zen 4, whose
AVX-512 units are 256 bits wide and take two passes per instruction. Its AVX2 "Haswell"
kernels are faster there: single-precision products 5-10% on every shape of the benchmarks
(float64 the same), training steps of the MLP at batch 1024 and of the LSTM 5-6% (this
project's 2-vCPU EPYC VM, alternating processes). OpenBLAS picks its kernels once, when it
loads, reading the environment variable OPENBLAS_CORETYPE. So at ``import xpnn``, when NumPy
is not loaded yet, the CPU is a Zen 4 (AMD family 25 with AVX-512) and OPENBLAS_CORETYPE is
unset, xpnn sets it to "Haswell" (child processes inherit it). XPNN_OPENBLAS_CORETYPE=default
leaves it alone. Imported after NumPy (``import torch`` loads NumPy too), xpnn cannot change
it: set OPENBLAS_CORETYPE=Haswell yourself for the same gain.

On AMD Zen 5 (family 26), whose AVX-512 units are full width, OpenBLAS 0.3.31 picks SkylakeX
itself and xpnn leaves it: there the AVX2 kernels run at about half the speed (single
precision, one thread, 2-vCPU EPYC VM: 1024 x 784 x 256 at 98-113 GFLOPS against 160-203;
LSTM training step 71 -> 51 ms, Transformer 68 -> 44 ms). An OPENBLAS_CORETYPE set in the
environment wins over both OpenBLAS's pick and xpnn's, whoever set it (a machine-wide
OPENBLAS_CORETYPE=Haswell, which makes results the same bits on every x86 host, costs that
factor): :func:`corename` says what a loaded OpenBLAS runs (``xpnn.cpu.blas_kernels()``).

This is a module of its own, imported first by xpnn/__init__.py: xpnn.cpu's thread policy
looks for NumPy's BLAS when it is imported, so it must come after NumPy.
"""
from __future__ import annotations

import ctypes
import os
import sys

OFF = ("default", "0", "off")


def _first_cpu():
    """The first processor's fields of /proc/cpuinfo (Linux), or {}."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        return {}
    return info


def is_zen4(info):
    """AMD family 25 (Zen 3 and Zen 4) with AVX-512, which only Zen 4 has."""
    return (info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"
            and "avx512f" in info.get("flags", "").split())


def corename(path):
    """The kernel set ("Haswell", "SkylakeX", ...) that the OpenBLAS loaded from ``path``
    runs, or None where the library cannot say (not OpenBLAS, or no such function)."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for name in ("openblas_get_corename", "scipy_openblas_get_corename64_",
                 "scipy_openblas_get_corename"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.argtypes, fn.restype = [], ctypes.c_char_p
            value = fn()
            return value.decode() if value else None
    return None


def choose():
    """Set OPENBLAS_CORETYPE where it pays and still can (module docstring); return the
    value set, or None."""
    if os.environ.get("XPNN_OPENBLAS_CORETYPE", "").strip().lower() in OFF:
        return None
    if os.environ.get("OPENBLAS_CORETYPE") or "numpy" in sys.modules:
        return None
    if not is_zen4(_first_cpu()):
        return None
    os.environ["OPENBLAS_CORETYPE"] = "Haswell"
    return "Haswell"


chosen = choose()
