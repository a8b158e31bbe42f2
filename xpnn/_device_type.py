"""PyTorch's ``device.type`` and ``device.index`` on the device objects of array-api-strict
and CuPy, whose own classes have neither: ``Tensor.device`` returns the backend's device as a
subclass carrying them, so it still goes to the library's functions (``device=x.device``),
equals and hashes as the original, and ``x.device.type == "cuda"`` reads as in PyTorch."""
from __future__ import annotations

_TYPED = {}  # Backend -> its device, typed (one object per backend)


def typed_device(be):
    """``be.device`` with ``type`` ("cpu", "cuda"; array-api-strict's simulated devices are
    not the host: their own name, "device1") and ``index``."""
    dev = _TYPED.get(be)
    if dev is None:
        dev = _TYPED[be] = _make(be)
    return dev


def _make(be):
    base = be.device
    if be.name == "cupy":
        kind, index, arg = "cuda", int(base.id), int(base.id)
    elif be.name == "array_api_strict":
        name = getattr(base, "_device", str(base))
        kind, index, arg = ("cpu" if be.on_host else name), None, name
    else:
        return base
    plain = type(base)
    cls = type(plain.__name__, (plain,),
               {"__slots__": (), "type": kind, "index": index,
                "__module__": plain.__module__,
                "__reduce__": lambda self: (plain, (arg,))})  # pickles as the library's
    try:
        return cls(arg)
    except TypeError:  # a class that cannot be subclassed this way: the device as it is
        return base
