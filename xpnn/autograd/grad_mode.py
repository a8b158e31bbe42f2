"""torch.autograd.grad_mode: the grad-mode context managers under their module's name."""
from . import (enable_grad, inference_mode, is_inference_mode_enabled, no_grad,
               set_grad_enabled)

__all__ = ["enable_grad", "inference_mode", "is_inference_mode_enabled", "no_grad",
           "set_grad_enabled"]
