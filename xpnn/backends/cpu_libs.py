"""``torch.backends``' CPU-library queries that environment reports print: ``mkldnn``
(oneDNN), ``openmp``, ``mkl``, ``cpu.get_cpu_capability`` and ``opt_einsum``, answered for
what xpnn runs on: NumPy's kernels and BLAS, no oneDNN, no OpenMP of its own, einsum as
NumPy contracts it."""
from __future__ import annotations

import types

from .. import backend as B


def _blas_is_mkl():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return False
    return any(i.get("internal_api") == "mkl" for i in threadpool_info())


def _cpu_capability():
    """PyTorch's names for the widest vector unit NumPy dispatches to here."""
    try:
        features = B.np._core._multiarray_umath.__cpu_features__
    except AttributeError:
        return "DEFAULT"
    if features.get("AVX512_SKX"):
        return "AVX512"
    return "AVX2" if features.get("AVX2") else "DEFAULT"


mkldnn = types.SimpleNamespace(is_available=lambda: False, enabled=True)
openmp = types.SimpleNamespace(is_available=lambda: False)
mkl = types.SimpleNamespace(is_available=_blas_is_mkl)
cpu = types.SimpleNamespace(get_cpu_capability=_cpu_capability)
opt_einsum = types.SimpleNamespace(is_available=lambda: False, enabled=False, strategy=None)
