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

This is a module of its own, imported first by xpnn/__init__.py: xpnn.cpu's thread policy
looks for NumPy's BLAS when it is imported, so it must come after NumPy.
"""
from __future__ import annotations

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
