"""``torch.amp``: automatic mixed precision's API. :class:`GradScaler` scales losses and
skips overflowing steps as PyTorch's does; :class:`autocast` opens regions that, in xpnn,
run in the tensors' own precision (xpnn does not run mixed precision; see
:mod:`xpnn.amp.autocast_mode`)."""
from __future__ import annotations

from .autocast_mode import (autocast, custom_bwd, custom_fwd, get_autocast_dtype,
                            is_autocast_available, is_autocast_enabled)
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype",
           "is_autocast_available", "is_autocast_enabled"]
