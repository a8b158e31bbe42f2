"""xpnn.accelerator: PyTorch 2.x's device-agnostic accelerator API; here the accelerator is
CUDA when the default backend can use it (see xpnn.cuda)."""
from __future__ import annotations

from . import cuda
from .backend import device


def is_available():
    return cuda.is_available()


def current_accelerator(check_available=False):
    """``xpnn.device("cuda")`` when a GPU is usable, else None (as PyTorch on a CPU-only
    machine)."""
    return device("cuda") if cuda.is_available() else None


def device_count():
    return cuda.device_count()


def current_device_index():
    return 0 if cuda.is_available() else -1


def synchronize(device=None):
    cuda.synchronize(device)
