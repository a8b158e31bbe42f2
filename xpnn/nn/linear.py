"""Linear (fully connected), Bilinear and Flatten."""
from __future__ import annotations

import math

from .. import functional as F
from .._errors import ShapeError
from . import init
from .module import Module, check_int, new_parameter


class Linear(Module):
    """y = x W^T + b.

    Args:
        in_features, out_features: sizes, ints >= 1.
        bias: learn an additive bias.
        backend, device, dtype: where the parameters live (default: the default backend,
            float32).
    Shapes: input (..., in_features) -> output (..., out_features).
    Init (PyTorch's default): W ~ U(-1/sqrt(in), 1/sqrt(in)) via kaiming_uniform(a=sqrt(5)),
    b ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features, out_features, bias=True, *, backend=None, device=None,
                 dtype=None):
        super().__init__()
        self.in_features = check_int("Linear", "in_features", in_features)
        self.out_features = check_int("Linear", "out_features", out_features)
        self.weight = new_parameter((out_features, in_features), backend, device, dtype)
        self.bias = new_parameter((out_features,), backend, device, dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ShapeError(f"{self!r}: input of shape {input.shape} does not match weight of "
                             f"shape {self.weight.shape} (expects last dim "
                             f"{self.in_features})")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y = x1^T A x2 + b, one (in1, in2) matrix A per output feature.

    Args:
        in1_features, in2_features, out_features: sizes, ints >= 1.
        bias: learn an additive bias.
        backend, device, dtype: where the parameters live.
    Shapes: x1 (..., in1_features), x2 (..., in2_features) with the same leading dims ->
    (..., out_features); weight (out_features, in1_features, in2_features).
    Init (PyTorch's): weight and bias ~ U(-1/sqrt(in1), 1/sqrt(in1)).
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, *, backend=None,
                 device=None, dtype=None):
        super().__init__()
        self.in1_features = check_int("Bilinear", "in1_features", in1_features)
        self.in2_features = check_int("Bilinear", "in2_features", in2_features)
        self.out_features = check_int("Bilinear", "out_features", out_features)
        self.weight = new_parameter((out_features, in1_features, in2_features), backend,
                                    device, dtype)
        self.bias = new_parameter((out_features,), backend, device, dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        x1, x2 = input1, input2
        if x1.ndim == 0 or x2.ndim == 0 or x1.shape[-1] != self.in1_features or \
                x2.shape[-1] != self.in2_features or x1.shape[:-1] != x2.shape[:-1]:
            raise ShapeError(f"{self!r}: inputs of shapes {x1.shape} and {x2.shape} must be "
                             f"(..., {self.in1_features}) and (..., {self.in2_features}) "
                             "with the same leading dims")
        return F.bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dims start_dim..end_dim (default: all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
