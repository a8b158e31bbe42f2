"""``nn.Buffer`` (PyTorch 2.5+): a tensor marked to be registered as a module buffer when
it is assigned to a Module attribute (``self.running = nn.Buffer(t, persistent=False)``)."""
from __future__ import annotations

from .. import backend as B
from ..tensor import Tensor


class Buffer(Tensor):
    """A Tensor that ``Module.__setattr__`` registers as a buffer, in ``state_dict`` unless
    ``persistent=False``; it never requires grad.

    Args:
        data: a Tensor or backend array (its values are shared, detached); None gives an
            empty float tensor of the default dtype, as PyTorch's.
        persistent: whether ``state_dict`` includes it.
    """

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            be = B.default_backend()
            data = be.xp.empty((0,), dtype=be.dtype(B.get_default_dtype()), device=be.device)
        if isinstance(data, Tensor):
            data = data.array
        elif not B.is_array(data):
            raise TypeError(f"Buffer: data must be a Tensor or an array, got "
                            f"{type(data).__name__}")
        super().__init__(data, requires_grad=False)
        self.persistent = bool(persistent)
