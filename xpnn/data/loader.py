"""``xpnn.data.DataLoader`` is ``xpnn.utils.data.DataLoader`` (one class): the older
``DataLoader(X, y, batch_size=32, shuffle=False, drop_last=False, backend=None, device=None,
seed=None, on_device=True)`` call form is one of the forms it takes (see its docstring)."""
from ..utils.data.dataloader import DataLoader

__all__ = ["DataLoader"]
