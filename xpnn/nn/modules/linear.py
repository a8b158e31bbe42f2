"""torch.nn.modules.linear: xpnn.nn's classes under PyTorch's module path."""
from ._reexport import reexport

__all__, __getattr__ = reexport(globals(), __name__, [
    "Identity", "Linear", "Bilinear", "LazyLinear", "NonDynamicallyQuantizableLinear"],
    fallback=("xpnn.nn.attention",))
