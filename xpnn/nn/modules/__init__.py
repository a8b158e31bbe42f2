"""torch.nn.modules: PyTorch's module paths for programs that name classes by them
(``xpnn.nn.modules.linear.Linear`` is ``xpnn.nn.Linear``). Each file re-exports the classes
xpnn implements of its PyTorch namesake; asking for one it lacks raises an AttributeError
that says so. The classes themselves live in xpnn/nn/.
"""
from . import (activation, batchnorm, channelshuffle, container, conv, distance, dropout,
               flatten, fold, instancenorm, linear, loss, module, normalization, padding,
               pixelshuffle, pooling, rnn, sparse, transformer, upsampling)
from . import adaptive, lazy

_FILES = (activation, batchnorm, channelshuffle, container, conv, distance, dropout, flatten,
          fold, instancenorm, linear, loss, module, normalization, padding, pixelshuffle,
          pooling, rnn, sparse, transformer, upsampling)
_FILES += (adaptive, lazy)
globals().update({name: getattr(f, name) for f in _FILES for name in f.__all__})
__all__ = sorted({name for f in _FILES for name in f.__all__})
