"""xpnn.optim: optimizers, learning-rate schedules and gradient clipping (torch.optim's
names, signatures and formulas)."""
from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .asgd import ASGD
from .clip import clip_grad_norm_, clip_grad_value_
from .lbfgs import LBFGS
from .muon import Muon
from .lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR,
                           CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR, LambdaLR,
                           LinearLR, LinearWarmup, LRScheduler, MultiplicativeLR, MultiStepLR,
                           OneCycleLR, PolynomialLR, ReduceLROnPlateau, SequentialLR, StepLR,
                           warmup_cosine)
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["ASGD", "LBFGS", "SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax",
           "ChainedScheduler", "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
           "CyclicLR", "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR", "LinearWarmup",
           "MultiStepLR", "Muon", "MultiplicativeLR", "NAdam", "OneCycleLR", "Optimizer",
           "PolynomialLR", "RAdam", "RMSprop", "ReduceLROnPlateau", "Rprop", "SequentialLR",
           "SparseAdam", "StepLR", "clip_grad_norm_", "clip_grad_value_", "lr_scheduler",
           "swa_utils", "warmup_cosine"]
