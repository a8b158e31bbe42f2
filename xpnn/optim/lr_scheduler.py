"""Learning-rate schedules, giving the same values as torch.optim.lr_scheduler.

This module is the public face (``optim.lr_scheduler.StepLR``, as in PyTorch); the
schedulers live in one module per family, which import only downwards:

    lr_scheduler -> lr_compose -> lr_decay, lr_plateau -> lr_base -> optimizer
                 -> lr_cyclic  -> lr_base

``lr_base`` holds :class:`LRScheduler`; ``lr_decay`` the functions of the epoch;
``lr_cyclic`` SGDR, CLR and 1cycle; ``lr_plateau`` ReduceLROnPlateau; ``lr_compose``
SequentialLR, ChainedScheduler and ``warmup_cosine``.
"""
from __future__ import annotations

from .lr_base import LRScheduler
from .lr_compose import ChainedScheduler, SequentialLR, warmup_cosine
from .lr_cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .lr_decay import (ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR,
                       LinearWarmup, MultiplicativeLR, MultiStepLR, PolynomialLR, StepLR)
from .lr_plateau import ReduceLROnPlateau

_LRScheduler = LRScheduler  # the older spelling, still subclassed by many programs

__all__ = ["ChainedScheduler", "ConstantLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "CyclicLR", "ExponentialLR", "LRScheduler",
           "LambdaLR", "LinearLR", "LinearWarmup", "MultiStepLR", "MultiplicativeLR",
           "OneCycleLR", "PolynomialLR", "ReduceLROnPlateau", "SequentialLR", "StepLR",
           "warmup_cosine"]
