"""``torch.utils.hooks``: :class:`RemovableHandle`, what registering a hook returns."""
from ..nn.hooks import RemovableHandle

__all__ = ["RemovableHandle"]
