"""A reversible residual network (Gomez et al., 2017, "The Reversible Residual Network:
Backpropagation Without Storing Activations"), written for the xpnn tests after the paper's
algorithm 1, classifying made-up spirals.

Each block splits its input into halves and computes y1 = x1 + F(x2), y2 = x2 + G(y1): the
inputs can be recomputed from the outputs. The block is a custom ``torch.autograd.Function``
in the new style (a ``forward`` without ctx and a ``setup_context`` that saves the output
alone by ``ctx.save_for_backward``); its ``backward`` rebuilds x2 = y2 - G(y1) and x1 =
y1 - F(x2) under ``torch.enable_grad()`` on detached leaves and calls
``torch.autograd.grad`` for the input halves and for F's and G's parameters, skipping the
parameters' when ``ctx.needs_input_grad`` says nobody asks. The gradients of the reversible
network are checked against the plain (storing) computation of the same blocks, and one
block by ``torch.autograd.gradcheck`` in float64; then the network trains by Adam.

    python tests/pytorch_programs/tutorials/revnet_function.py
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def spirals(count, classes=3):
    """Points of ``classes`` interleaved noisy spiral arms."""
    label = rng.integers(0, classes, count)
    r = rng.uniform(0.1, 1.0, count)
    angle = 3.0 * r + 2 * math.pi * label / classes + rng.normal(0, 0.15, count)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(label)


class ReversibleBlockFunction(torch.autograd.Function):
    @staticmethod
    def forward(x, f, g, *params):
        x1, x2 = torch.chunk(x, 2, dim=1)
        y1 = x1 + f(x2)
        y2 = x2 + g(y1)
        return torch.cat([y1, y2], dim=1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, f, g, *params = inputs
        ctx.f, ctx.g = f, g
        ctx.n_f = len(list(f.parameters()))
        ctx.save_for_backward(output)        # the output alone: the input is recomputed

    @staticmethod
    def backward(ctx, dy):
        (y,) = ctx.saved_tensors
        f, g = ctx.f, ctx.g
        want_params = any(ctx.needs_input_grad[3:])
        ReversibleBlockFunction.seen_needs = ctx.needs_input_grad[:4]
        dy1, dy2 = torch.chunk(dy, 2, dim=1)
        y1, y2 = torch.chunk(y, 2, dim=1)
        with torch.enable_grad():
            y1 = y1.detach().requires_grad_()
            gy1 = g(y1)
            wrt = [y1] + (list(g.parameters()) if want_params else [])
            grads = torch.autograd.grad(gy1, wrt, dy2)
            dy1 = dy1 + grads[0]
            dg = grads[1:]
            x2 = (y2 - gy1).detach().requires_grad_()
            fx2 = f(x2)
            wrt = [x2] + (list(f.parameters()) if want_params else [])
            grads = torch.autograd.grad(fx2, wrt, dy1)
            dx2 = dy2 + grads[0]
            df = grads[1:]
        dx = torch.cat([dy1, dx2], dim=1)
        if not want_params:
            return (dx, None, None) + (None,) * (len(ctx.needs_input_grad) - 3)
        return (dx, None, None) + tuple(df) + tuple(dg)


def branch(d):
    return nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))


class RevBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.f = branch(d)
        self.g = branch(d)

    def forward(self, x, reversible=True):
        if reversible:
            params = list(self.f.parameters()) + list(self.g.parameters())
            return ReversibleBlockFunction.apply(x, self.f, self.g, *params)
        x1, x2 = torch.chunk(x, 2, dim=1)       # the plain block, activations stored
        y1 = x1 + self.f(x2)
        return torch.cat([y1, x2 + self.g(y1)], dim=1)


class RevNet(nn.Module):
    def __init__(self, d=16, depth=3, classes=3):
        super().__init__()
        self.stem = nn.Linear(2, 2 * d)
        self.blocks = nn.ModuleList(RevBlock(d) for _ in range(depth))
        self.head = nn.Linear(2 * d, classes)

    def forward(self, x, reversible=True):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h, reversible)
        return self.head(h)


train_x, train_y = spirals(384)
test_x, test_y = spirals(256)
model = RevNet().to(device)
criterion = nn.CrossEntropyLoss()

# the reversible gradients against the plain computation's
loss_rev = criterion(model(train_x[:64]), train_y[:64])
grads_rev = torch.autograd.grad(loss_rev, list(model.parameters()))
loss_plain = criterion(model(train_x[:64], reversible=False), train_y[:64])
grads_plain = torch.autograd.grad(loss_plain, list(model.parameters()))
same = all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads_rev, grads_plain))
print(f'loss reversible {loss_rev.item():.6f} plain {loss_plain.item():.6f}; gradients of '
      f'{len(grads_rev)} tensors allclose {same}')

# the input's gradient alone: with the block frozen, ctx.needs_input_grad says so
model.blocks[0].requires_grad_(False)
with torch.no_grad():
    h_probe = model.stem(train_x[:8])
h_probe.requires_grad_()
out = model.blocks[0](h_probe)
(dh,) = torch.autograd.grad(out.pow(2).sum(), h_probe)
model.blocks[0].requires_grad_(True)
print(f'input-only gradient shape {tuple(dh.shape)}, needs_input_grad[:4] '
      f'{ReversibleBlockFunction.seen_needs}, parameter grads untouched '
      f'{all(p.grad is None for p in model.parameters())}')

# one block in float64 by gradcheck, through its inputs and its parameters
block64 = copy.deepcopy(model.blocks[0]).double()
params64 = list(block64.f.parameters()) + list(block64.g.parameters())
x64 = torch.randn(4, 32, dtype=torch.float64, requires_grad=True)
ok = torch.autograd.gradcheck(
    lambda x, *p: ReversibleBlockFunction.apply(x, block64.f, block64.g, *p),
    (x64, *params64), eps=1e-6, atol=1e-5)
print(f'gradcheck float64 (input and {len(params64)} parameter tensors): {ok}')

# reconstruction: the inputs come back from the outputs
with torch.no_grad():
    h = model.stem(test_x[:16])
    y = model.blocks[0](h)
    y1, y2 = torch.chunk(y, 2, dim=1)
    x2 = y2 - model.blocks[0].g(y1)
    x1 = y1 - model.blocks[0].f(x2)
    print(f'inverse recovers the input: {torch.allclose(torch.cat([x1, x2], 1), h, atol=1e-5)}')

optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        loss = criterion(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    model.train()
    return loss, accuracy


batch = 32
for epoch in range(1, 9):
    order = torch.from_numpy(rng.permutation(len(train_x)))
    total = 0.0
    for i in range(0, len(train_x), batch):
        x = train_x[order[i:i + batch]].to(device)
        y = train_y[order[i:i + batch]].to(device)
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, accuracy = evaluate()
    print(f'epoch {epoch} | train loss {total / (len(train_x) // batch):.4f} | test loss '
          f'{loss:.4f} | accuracy {accuracy:.3f}')
