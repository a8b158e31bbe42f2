"""Process settings PyTorch programs set at their top: the default device, the float32
matmul precision and deterministic algorithms."""
from __future__ import annotations

import sys

from . import backend as B

_FLAGS = {"deterministic": False, "warn_only": False, "precision": "highest"}


def set_default_device(device):
    """New tensors and parameters go to ``device`` ("cpu", "cuda", "cuda:1", a backend's
    device) on the default backend (on NumPy, "cuda" means CuPy); None restores the CPU.
    See also ``xpnn.set_default_backend``."""
    current = B.default_backend()
    if device is None or str(device).partition(":")[0] == "cpu":
        B.set_default_backend("numpy" if current.name in ("numpy", "cupy", "meta")
                              else current.name)
        return
    be = B.resolve_device(current, device)
    B.set_default_backend(be.name, B.device_key(be) if be.name != "numpy" else None)


def get_default_device():
    """The device of the default backend, as an ``xpnn.device``."""
    be = B.default_backend()
    if be.is_meta:
        return B.device("meta")
    if be.name == "cupy":
        return B.device("cuda", be.device.id)
    return B.device(B.device_key(be))


class device(B.device):
    """``xpnn.device``: PyTorch's device, also a context manager (``with
    xpnn.device("meta"): model = Net()``) in which new tensors and parameters go to it, as
    :func:`set_default_device` puts them; the previous default comes back on exit."""

    __slots__ = ()
    _saved = []  # a stack, per nesting: (default backend name, default device)

    def __enter__(self):
        state = B._state
        self._saved.append((getattr(state, "default", "numpy"),
                            getattr(state, "default_device", None)))
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        name, dev = self._saved.pop()
        B.set_default_backend(name, dev)
        return False


def set_float32_matmul_precision(precision):
    """PyTorch's choice of float32 matrix products: "highest" (full float32), "high" or
    "medium" (TF32 or bfloat16 products allowed on GPUs). It is passed on to torch when
    torch is loaded (its CUDA products follow it); NumPy and CuPy products stay full
    float32."""
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: precision must be 'highest', 'high' "
                         f"or 'medium', got {precision!r}")
    _FLAGS["precision"] = precision
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_float32_matmul_precision(precision)


def get_float32_matmul_precision():
    return _FLAGS["precision"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Record PyTorch's deterministic-algorithms flag. xpnn's ops on NumPy and
    array-api-strict give the same result on every run; on CUDA, its scatter-adds (the
    backward of embeddings and of index ops) add in an unfixed order, and this flag does not
    change that."""
    _FLAGS["deterministic"], _FLAGS["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _FLAGS["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _FLAGS["warn_only"]
