"""xpnn.nn: Modules (layers that hold parameters), containers, losses and init."""
from . import init
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .dropout import Dropout
from .linear import Flatten, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                   NLLLoss)
from .module import Identity, Module, ModuleList, Parameter, Sequential

__all__ = [name for name in dir() if not name.startswith("_")]
