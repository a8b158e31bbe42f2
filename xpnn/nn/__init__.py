"""xpnn.nn: Modules (layers that hold parameters), containers, losses and init."""
import sys

from .. import functional
from . import init, utils
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .activation import (CELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                         LogSigmoid, Mish, PReLU, ReLU6, Softmin, Softshrink, Softsign,
                         Tanhshrink, Threshold)
from .activation import RReLU, Softmax2d
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .attention import (LearnedPositionalEncoding, MultiheadAttention,
                        SinusoidalPositionalEncoding)
from .container import ModuleDict, ParameterDict, ParameterList
from .buffer import Buffer
from .fractional import FractionalMaxPool2d, FractionalMaxPool3d
from .legacy import Container, CrossMapLRN2d, NLLLoss2d
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                   ConvTranspose3d)
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import (AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d,
                      FeatureAlphaDropout)
from .embedding import Embedding, EmbeddingBag
from .flatten import Unflatten
from .linear import Bilinear, Flatten, Linear
from . import parameter
from .parameter import UninitializedBuffer, UninitializedParameter
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d,
                   LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d,
                   LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                   NLLLoss)
from .loss import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss, KLDivLoss,
                   MarginRankingLoss, MultiLabelSoftMarginLoss, PoissonNLLLoss, SmoothL1Loss,
                   SoftMarginLoss, TripletMarginLoss)
from .loss import MultiLabelMarginLoss, MultiMarginLoss, TripletMarginWithDistanceLoss
from .loss import LinearCrossEntropyLoss
from ..functional.linear_cross_entropy import LinearCrossEntropyOptions
from .ctc import CTCLoss
from .module import Identity, Module, Parameter
from .sequential import ModuleList, Sequential
from .norm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d,
                   InstanceNorm2d, InstanceNorm3d, LayerNorm, LocalResponseNorm, RMSNorm)
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,
                      ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d,
                      ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d,
                      ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .fold import Fold, Unfold
from .pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle
from .pool import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,
                   AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool1d,
                   MaxUnpool2d, MaxUnpool3d)
from .pool import (AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, LPPool1d, LPPool2d,
                   LPPool3d, MaxPool3d)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .recurrent import RNNBase, RNNCellBase
from .sync_batchnorm import SyncBatchNorm
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from . import parallel
from .parallel import DataParallel

__all__ = [name for name, obj in dict(globals()).items()
           if not name.startswith("_") and (type(obj).__name__ != "module" or
                                               name in ("init", "utils", "functional"))]

# ``import xpnn.nn.functional as F`` gives the same module as xpnn.functional (PyTorch's path)
sys.modules[__name__ + ".functional"] = functional
