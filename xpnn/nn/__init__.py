"""xpnn.nn: Modules (layers that hold parameters), containers, losses and init."""
import sys

from .. import functional
from . import init, utils
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .attention import (LearnedPositionalEncoding, MultiheadAttention,
                        SinusoidalPositionalEncoding, TransformerEncoder,
                        TransformerEncoderLayer)
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout1d, Dropout2d
from .embedding import Embedding
from .linear import Flatten, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                   NLLLoss)
from .module import Identity, Module, ModuleList, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pool import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
                   MaxPool2d)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [name for name, obj in dict(globals()).items()
           if not name.startswith("_") and (type(obj).__name__ != "module" or
                                               name in ("init", "utils", "functional"))]

# ``import xpnn.nn.functional as F`` gives the same module as xpnn.functional (PyTorch's path)
sys.modules[__name__ + ".functional"] = functional
