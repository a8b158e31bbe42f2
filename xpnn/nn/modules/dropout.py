"""torch.nn.modules.dropout: xpnn.nn's classes under PyTorch's module path."""
from ._reexport import reexport

__all__, __getattr__ = reexport(globals(), __name__, [
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
    "FeatureAlphaDropout"])
from ..dropout import Dropout as _DropoutNd  # noqa: E402,F401  every dropout's base here
