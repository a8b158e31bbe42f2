"""torch.nn.modules.adaptive: xpnn.nn's class under PyTorch's module path."""
from ._reexport import reexport

__all__, __getattr__ = reexport(globals(), __name__, ["AdaptiveLogSoftmaxWithLoss"])
