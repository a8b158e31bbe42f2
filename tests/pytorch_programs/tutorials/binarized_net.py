"""A binarized neural network (Courbariaux et al., 2016; Rastegari et al., 2016 for the
per-row weight scale), written small for the xpnn tests on 1200 made-up points of four
classes in 16 dimensions (class means on the corners of a hypercube, under noise).

Binarization is a custom ``torch.autograd.Function`` written as users write one:
``SignSTE`` (``@staticmethod`` forward and backward, ``ctx.save_for_backward``,
``ctx.needs_input_grad``) returns the signs and, as a second integer output, how many were
positive, marked by ``ctx.mark_non_differentiable``; its backward is the straight-through
estimator (the gradient passed where |x| <= 1). ``ScaledSign`` binarizes a weight matrix to
sign(W) times each row's mean |W|, with a backward decorated by
``torch.autograd.function.once_differentiable``. A smooth custom Function (a tempered tanh
with a learnable temperature) is checked by ``torch.autograd.gradcheck`` in float64, and
used as the network's output squashing.

The MLP's hidden layers are ``BinaryLinear`` modules (latent float weights, binarized in
forward) between ``BatchNorm1d`` and ``nn.Hardtanh``; Adam trains the latent weights, which
are clipped after each step by ``p.data.clamp_(-1, 1)``. Train loss and test accuracy are
printed per epoch, with the fraction of positive activations the integer output counts.

    python tests/pytorch_programs/tutorials/binarized_net.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


class SignSTE(torch.autograd.Function):
    """sign(x) in {-1, +1} (0 goes to +1) and the count of positive entries; the gradient
    passes straight through where |x| <= 1 and is zero elsewhere."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        out = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
        positives = (out > 0).sum()
        ctx.mark_non_differentiable(positives)
        return out, positives

    @staticmethod
    def backward(ctx, grad_out, grad_positives):
        (x,) = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_out * (x.abs() <= 1).to(grad_out.dtype)
        return grad_x


class ScaledSign(torch.autograd.Function):
    """alpha * sign(W), alpha the mean |W| of each row; the gradient is straight-through
    for the clipped latent weights (scaled by alpha)."""

    @staticmethod
    def forward(ctx, weight):
        alpha = weight.abs().mean(dim=1, keepdim=True)
        ctx.save_for_backward(weight, alpha)
        return torch.where(weight >= 0, alpha, -alpha)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        weight, alpha = ctx.saved_tensors
        return grad_out * alpha * (weight.abs() <= 1).to(grad_out.dtype)


class TemperedTanh(torch.autograd.Function):
    """tanh(x / t) with a gradient for both x and the temperature t."""

    @staticmethod
    def forward(ctx, x, t):
        y = torch.tanh(x / t)
        ctx.save_for_backward(x, t, y)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x, t, y = ctx.saved_tensors
        dy = grad_y * (1 - y * y)
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            grad_x = dy / t
        if ctx.needs_input_grad[1]:
            grad_t = (-dy * x / (t * t)).sum().reshape(t.shape)
        return grad_x, grad_t


x64 = torch.randn(5, 3, dtype=torch.double, requires_grad=True)
t64 = torch.tensor([1.3], dtype=torch.double, requires_grad=True)
print(f'gradcheck TemperedTanh: {torch.autograd.gradcheck(TemperedTanh.apply, (x64, t64))}')
probe = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5], requires_grad=True)
signs, count = SignSTE.apply(probe)
signs.sum().backward()
print(f'sign {signs.tolist()}, positives {count.item()} (requires_grad {count.requires_grad}), '
      f'straight-through grad {probe.grad.tolist()}')
w = torch.tensor([[0.5, -0.25, 2.0], [-0.1, 0.3, -0.2]], requires_grad=True)
wb = ScaledSign.apply(w)
(wb * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
print(f'scaled sign {[[round(v, 4) for v in row] for row in wb.tolist()]}, '
      f'grad {[[round(v, 4) for v in row] for row in w.grad.tolist()]}')


class BinaryLinear(nn.Linear):
    def __init__(self, in_features, out_features, binarize_input=True):
        super().__init__(in_features, out_features, bias=False)
        self.binarize_input = binarize_input
        nn.init.uniform_(self.weight, -0.5, 0.5)

    def forward(self, x):
        positives = None
        if self.binarize_input:
            x, positives = SignSTE.apply(x)
        return F.linear(x, ScaledSign.apply(self.weight)), positives


class BinaryMLP(nn.Module):
    def __init__(self, in_features=16, hidden=64, classes=4):
        super().__init__()
        self.fc1 = BinaryLinear(in_features, hidden, binarize_input=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = BinaryLinear(hidden, hidden)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.act = nn.Hardtanh()
        self.fc3 = nn.Linear(hidden, classes)
        self.temperature = nn.Parameter(torch.tensor([2.0]))

    def forward(self, x):
        h, _ = self.fc1(x)
        h = self.act(self.bn1(h))
        h, positives = self.fc2(h)
        h = self.act(self.bn2(h))
        logits = 4.0 * TemperedTanh.apply(self.fc3(h), self.temperature)
        return logits, positives


def make_points(n):
    labels = torch.arange(n) % 4
    corners = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    means = corners.repeat(1, 8)[labels]
    return means + 2.5 * torch.randn(n, 16), labels


train_x, train_y = make_points(960)
test_x, test_y = make_points(240)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
model = BinaryMLP().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
binary_weights = [model.fc1.weight, model.fc2.weight]

for epoch in range(1, 7):
    model.train()
    total, seen, positive, activations = 0.0, 0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits, positives = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for p in binary_weights:
            p.data.clamp_(-1, 1)
        total += loss.item() * x.size(0)
        seen += x.size(0)
        positive += positives.item()
        activations += x.size(0) * 64
    model.eval()
    with torch.no_grad():
        logits, _ = model(test_x.to(device))
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    print(f'epoch {epoch} | train loss {total / seen:.4f} | test accuracy {accuracy:.3f} '
          f'| positive activations {positive / activations:.3f} '
          f'| temperature {model.temperature.item():.3f}')

latent = model.fc2.weight.detach()
print(f'latent weights in [{latent.min().item():.3f}, {latent.max().item():.3f}], '
      f'{(latent.abs() == 1).sum().item()} clipped at +-1')
try:
    v = torch.randn(3, 2, requires_grad=True)
    y = ScaledSign.apply(v)
    (g,) = torch.autograd.grad((y * y).sum(), v, create_graph=True)
    g.sum().backward()
    print('double backward through once_differentiable: no error')
except RuntimeError:
    print('double backward through once_differentiable: RuntimeError')
