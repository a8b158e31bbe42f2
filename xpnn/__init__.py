"""xpnn: a neural-network framework written once against the Python Array API standard."""
from . import functional, nn, optim
from .autograd import Function, Tensor, as_tensor, backward, enable_grad, is_grad_enabled, \
    no_grad, tensor
from .backend import (Backend, BackendError, get_backend, manual_seed, set_default_backend,
                      to_numpy)
from .gradcheck import GradcheckError, gradcheck
from .anomaly import AnomalyError, detect_anomaly
from .io import CheckpointError, load, load_checkpoint, load_file, save, save_checkpoint
from . import callbacks, data, metrics
from .train import History, NonFiniteLossError, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = ["Backend", "BackendError", "Function", "GradcheckError", "Tensor", "as_tensor",
           "backward", "enable_grad", "functional", "get_backend", "gradcheck",
           "is_grad_enabled", "manual_seed", "nn", "no_grad", "optim", "set_default_backend",
           "tensor", "to_numpy"]
__all__ += ["AnomalyError", "CheckpointError", "detect_anomaly", "load", "load_checkpoint",
            "load_file", "save", "save_checkpoint"]
__all__ += ["History", "NonFiniteLossError", "callbacks", "data", "evaluate", "fit", "metrics",
            "predict"]
