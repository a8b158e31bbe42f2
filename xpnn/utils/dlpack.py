"""DLPack exchange under PyTorch's names: ``to_dlpack(tensor)`` and ``from_dlpack(obj)``."""
from ..creation import from_dlpack


def to_dlpack(tensor):
    """A DLPack capsule of ``tensor``'s array (zero-copy; prefer passing the Tensor itself,
    which has ``__dlpack__``, to the consumer's ``from_dlpack``)."""
    return tensor.__dlpack__()


__all__ = ["from_dlpack", "to_dlpack"]
