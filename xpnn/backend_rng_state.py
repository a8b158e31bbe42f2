"""Every random state xpnn uses, as host data, and its restoration: checkpoints
(io/checkpoint.py), ``xpnn.get_rng_state``/``set_rng_state``, vmap's ``randomness="same"``
and the scikit-learn wrappers save and restore through here."""
from __future__ import annotations

from ._errors import BackendError
from .backend import _cache, device_key, get_backend
from .backend_random import (_generator_state, _seed, _set_generator_state, host_rng,
                             manual_seed)


def _rng_key(be):
    return f"{be.name}:{device_key(be)}"


def get_rng_state():
    """Every random state xpnn uses, as host data (for checkpoints).

    Returns:
        dict with ``"seed"`` (the last ``manual_seed``), ``"host"`` (the parameter-init
        generator's ``bit_generator.state``) and ``"backends"``: {``"name:device"``: state}
        for each backend whose runtime generator exists (a dict for NumPy and
        array-api-strict, the bytes of the generator as a NumPy array for torch and CuPy).
    """
    backends = {}
    for be in {id(b): b for b in _cache.values()}.values():
        if be._rng is not None and be._rng_epoch == _seed["epoch"]:
            backends[_rng_key(be)] = _generator_state(be)
    return {"seed": _seed["value"], "host": host_rng().bit_generator.state,
            "backends": backends}


def set_rng_state(state):
    """Restore what :func:`get_rng_state` returned.

    Backends named in ``state`` get their generator state back; every other backend restarts
    its stream from the seed, as it would in a process that never drew from it. A backend
    or device missing on this machine (a CUDA state restored on a CPU-only host) is skipped:
    nothing here can draw from it.
    """
    manual_seed(state["seed"])  # new epoch: every runtime generator restarts from the seed
    host_rng().bit_generator.state = state["host"]
    for key, value in state["backends"].items():
        name, _, device = key.partition(":")
        try:
            be = get_backend(name, int(device) if name == "cupy" else device)
        except BackendError:
            continue
        _set_generator_state(be, value)
