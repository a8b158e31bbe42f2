"""torch.nn.modules.padding: xpnn.nn's classes under PyTorch's module path."""
from ._reexport import reexport

__all__, __getattr__ = reexport(globals(), __name__, [
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
    "CircularPad2d", "CircularPad3d"])
