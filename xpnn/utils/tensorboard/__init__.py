"""``torch.utils.tensorboard``: :class:`SummaryWriter`, which writes TensorBoard's event files
itself (writer.py); install ``tensorboard`` only to view them."""
from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
