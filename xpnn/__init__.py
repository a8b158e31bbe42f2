"""xpnn: a neural-network framework written once against the Python Array API standard."""
from . import functional, nn, optim
from .autograd import Function, Tensor, as_tensor, backward, enable_grad, is_grad_enabled, \
    no_grad, tensor
from .backend import (Backend, BackendError, get_backend, manual_seed, set_default_backend,
                      to_numpy)
from .gradcheck import GradcheckError, gradcheck

__version__ = "0.1.0"

__all__ = ["Backend", "BackendError", "Function", "GradcheckError", "Tensor", "as_tensor",
           "backward", "enable_grad", "functional", "get_backend", "gradcheck",
           "is_grad_enabled", "manual_seed", "nn", "no_grad", "optim", "set_default_backend",
           "tensor", "to_numpy"]
