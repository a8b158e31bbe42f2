"""torch.types: the aliases type hints name (``Number``, ``Device``, ``_size``...)."""
from __future__ import annotations

from typing import Union

from .backend import device as _device
from .tensor import Size, Tensor

Number = Union[int, float, bool]
Device = Union[_device, str, int, None]
_size = Union[Size, list[int], tuple[int, ...]]
_TensorOrTensors = Union[Tensor, list[Tensor], tuple[Tensor, ...]]
_int = int
_float = float
_bool = bool
_complex = complex

__all__ = ["Device", "Number"]
