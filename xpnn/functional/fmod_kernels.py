"""C's fmod on arrays (the remainder with the sign of the dividend): the portable version
and the backends' native ones, by backend name (``FMOD``). Below elementwise.py (floor
division uses it) and pointwise.py (``torch.fmod``), which both import it."""
from __future__ import annotations


def fmod_portable(be, A, B):
    """C's fmod: the remainder of |A| / |B| with the sign of A (exact, as remainder of two
    non-negative numbers is)."""
    xp = be.xp
    R = xp.remainder(xp.abs(A), xp.abs(B))
    if be.is_floating(A.dtype):
        return xp.copysign(R, A)  # -0.0 stays -0.0, as in PyTorch
    return xp.where(A < 0, -R, R)


def _fmod_native(be, A, B):
    return be.lib.fmod(A, B)


FMOD = {"numpy": _fmod_native, "torch": _fmod_native, "cupy": _fmod_native}


def fmod_array(be, A, B):
    return FMOD.get(be.name, fmod_portable)(be, A, B)
