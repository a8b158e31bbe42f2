"""torch.nn.modules.lazy: xpnn's LazyModuleMixin under PyTorch's module path."""
from ._reexport import reexport

__all__, __getattr__ = reexport(globals(), __name__, ["LazyModuleMixin"],
                                fallback=("xpnn.nn.lazy",))
