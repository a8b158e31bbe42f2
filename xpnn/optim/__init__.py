"""xpnn.optim: optimizers, learning-rate schedules and gradient clipping."""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import (CosineAnnealingLR, ExponentialLR, LinearLR, LinearWarmup,
                           LRScheduler, MultiStepLR, OneCycleLR, ReduceLROnPlateau,
                           SequentialLR, StepLR, warmup_cosine)
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR",
           "LRScheduler", "LinearLR", "LinearWarmup", "MultiStepLR", "OneCycleLR", "Optimizer",
           "RMSprop", "ReduceLROnPlateau", "SequentialLR", "StepLR", "clip_grad_norm_",
           "clip_grad_value_", "lr_scheduler", "warmup_cosine"]
