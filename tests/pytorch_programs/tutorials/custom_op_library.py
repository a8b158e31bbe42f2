"""Python custom operators (PyTorch's "Python Custom Operators" tutorial, torch.library),
written for the xpnn tests on made-up regression data.

A fused SwiGLU activation, silu(a) * b, becomes the custom operator ``mylib::fused_swiglu``
by ``torch.library.custom_op``: its body is hand-written tensor math on ``.detach()``ed
inputs (a numerically stable sigmoid from exp(-|a|)), opaque to autograd, so
``register_fake`` states its output's shape and dtype and ``register_autograd`` with a
``setup_context`` saves the inputs and supplies the hand-derived gradient. A gated MLP built
on the op is trained for 8 epochs of Adam on shuffled mini-batches, while a second custom
operator, ``mylib::ema_update_`` (``mutates_args=("avg",)``, returning None), keeps an
exponential moving average of the weights in place. ``torch.library.opcheck`` tests the op
on float64 samples, ``torch.ops.mylib.fused_swiglu`` and its ``.default`` overload are
called directly, and a ``torch.compile``d evaluation function calls the op for the test
loss of the model and of its averaged weights.

    python tests/pytorch_programs/tutorials/custom_op_library.py
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)


@torch.library.custom_op("mylib::fused_swiglu", mutates_args=())
def fused_swiglu(a: Tensor, b: Tensor) -> Tensor:
    a, b = a.detach(), b.detach()
    e = torch.exp(-a.abs())  # never overflows: sigmoid(a) from e = exp(-|a|)
    sig = torch.where(a >= 0, 1 / (1 + e), e / (1 + e))
    return a * sig * b


@fused_swiglu.register_fake
def _(a, b):
    return torch.empty_like(a)


def setup_context(ctx, inputs, output):
    a, b = inputs
    ctx.save_for_backward(a, b)


def backward(ctx, grad):
    a, b = ctx.saved_tensors
    sig = torch.sigmoid(a)
    # d silu(a) / da = sig * (1 + a * (1 - sig))
    grad_a = grad * b * sig * (1 + a * (1 - sig)) if ctx.needs_input_grad[0] else None
    grad_b = grad * a * sig if ctx.needs_input_grad[1] else None
    return grad_a, grad_b


fused_swiglu.register_autograd(backward, setup_context=setup_context)


@torch.library.custom_op("mylib::ema_update_", mutates_args=("avg",))
def ema_update_(avg: Tensor, new: Tensor, decay: float) -> None:
    avg.mul_(decay).add_(new * (1 - decay))


class GatedMLP(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.proj = nn.Linear(d_in, 2 * hidden)
        self.out = nn.Linear(hidden, d_out)

    def forward(self, x):
        a, b = self.proj(x).chunk(2, dim=-1)
        return self.out(fused_swiglu(a, b))


# the op against its plain formula, and through torch.ops
a, b = torch.randn(4, 5), torch.randn(4, 5)
reference = F.silu(a) * b
close = torch.allclose(fused_swiglu(a, b), reference, atol=1e-6)
print(f"fused_swiglu agrees with silu(a) * b: {close}")
same = torch.allclose(torch.ops.mylib.fused_swiglu.default(a, b), reference, atol=1e-6)
print(f"torch.ops.mylib.fused_swiglu: {torch.ops.mylib.fused_swiglu} | same values {same}")
print("schema:", torch.ops.mylib.fused_swiglu.default._schema)

# opcheck on float64 samples, with and without gradients
samples = [(torch.randn(3, 4, dtype=torch.float64, requires_grad=True),
            torch.randn(3, 4, dtype=torch.float64, requires_grad=True)),
           (torch.randn(6, dtype=torch.float64), torch.randn(6, dtype=torch.float64))]
for args in samples:
    print("opcheck:", torch.library.opcheck(fused_swiglu, args))

# made-up regression data: y = tanh(x W1) W2 + noise
x_all = torch.randn(512, 8)
w1, w2 = torch.randn(8, 6), torch.randn(6, 2)
y_all = torch.tanh(x_all @ w1) @ w2 + 0.05 * torch.randn(512, 2)
train = TensorDataset(x_all[:384], y_all[:384])
x_test, y_test = x_all[384:], y_all[384:]
loader = DataLoader(train, batch_size=32, shuffle=True)

model = GatedMLP(8, 16, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)


@torch.compile
def test_loss(net):
    with torch.no_grad():
        return F.mse_loss(net(x_test), y_test)


averages = None
for epoch in range(1, 9):
    total = 0.0
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        with torch.no_grad():
            if averages is None:
                averages = [p.detach().clone() for p in model.parameters()]
            else:
                for avg, p in zip(averages, model.parameters()):
                    ema_update_(avg, p.detach(), 0.9)
    print(f"epoch {epoch} | train loss {total / len(train):.4f} | test loss "
          f"{test_loss(model).item():.4f}")

ema_model = copy.deepcopy(model)
with torch.no_grad():
    for p, avg in zip(ema_model.parameters(), averages):
        p.copy_(avg)
print(f"ema weights test loss {test_loss(ema_model).item():.4f} | differ from the model "
      f"{not torch.equal(ema_model.out.weight, model.out.weight)}")
