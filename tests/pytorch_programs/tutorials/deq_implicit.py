"""A deep equilibrium layer (Bai, Kolter and Koltun, 2019), written for the xpnn tests after
the implicit-layers tutorial's DEQ chapter, classifying made-up points.

The layer's output is the fixed point z* = tanh(W z* + U x + b). The forward pass finds it
under ``torch.no_grad()`` by Anderson acceleration (a window of past iterates mixed by weights
from a small bordered least-squares system, ``torch.bmm`` and ``torch.linalg.solve``), then
takes one attached step z = f(z*, x) so that autograd sees the parameters. The backward pass
is the implicit function theorem: a ``register_hook`` on z replaces the incoming gradient g by
the solution of u = u J + g, J the Jacobian of f at the fixed point, itself found by Anderson
on vector-Jacobian products ``torch.autograd.grad(f0, z0, u, retain_graph=True)`` through one
more step recorded from a detached copy of z*. Before training, the parameter gradients are
checked against backpropagation through 80 unrolled iterations; then Adam trains the layer
and a linear head, W scaled back after each step to a spectral norm
(``torch.linalg.matrix_norm(ord=2)``) of at most 0.9 so that f stays a contraction.

    python tests/pytorch_programs/tutorials/deq_implicit.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def anderson(f, x0, m=5, lam=1e-4, max_iter=60, tol=1e-5, beta=1.0):
    """Anderson acceleration for the fixed point x = f(x), x of shape (batch, n)."""
    bsz, n = x0.shape
    X = torch.zeros(bsz, m, n, dtype=x0.dtype, device=x0.device)
    Fx = torch.zeros(bsz, m, n, dtype=x0.dtype, device=x0.device)
    X[:, 0], Fx[:, 0] = x0, f(x0)
    X[:, 1], Fx[:, 1] = Fx[:, 0], f(Fx[:, 0])
    H = torch.zeros(bsz, m + 1, m + 1, dtype=x0.dtype, device=x0.device)
    H[:, 0, 1:] = H[:, 1:, 0] = 1
    y = torch.zeros(bsz, m + 1, 1, dtype=x0.dtype, device=x0.device)
    y[:, 0] = 1
    res = []
    for k in range(2, max_iter):
        size = min(k, m)
        G = Fx[:, :size] - X[:, :size]
        H[:, 1:size + 1, 1:size + 1] = (torch.bmm(G, G.transpose(1, 2))
                                        + lam * torch.eye(size, dtype=x0.dtype,
                                                          device=x0.device)[None])
        alpha = torch.linalg.solve(H[:, :size + 1, :size + 1], y[:, :size + 1])[:, 1:size + 1, 0]
        X[:, k % m] = (beta * (alpha[:, None] @ Fx[:, :size])[:, 0]
                       + (1 - beta) * (alpha[:, None] @ X[:, :size])[:, 0])
        Fx[:, k % m] = f(X[:, k % m])
        res.append((Fx[:, k % m] - X[:, k % m]).norm() / (1e-5 + Fx[:, k % m].norm()))
        if res[-1] < tol:
            break
    return X[:, k % m], res


class DEQLayer(nn.Module):
    def __init__(self, d_in, hidden):
        super().__init__()
        self.linear = nn.Linear(hidden, hidden, bias=False)
        self.inject = nn.Linear(d_in, hidden)
        nn.init.normal_(self.linear.weight, 0.0, 0.5 / math.sqrt(hidden))
        self.forward_res, self.backward_res = [], []

    def f(self, z, x_inj):
        return torch.tanh(self.linear(z) + x_inj)

    def forward(self, x):
        x_inj = self.inject(x)
        with torch.no_grad():
            z, self.forward_res = anderson(lambda z: self.f(z, x_inj),
                                           torch.zeros_like(x_inj))
        z = self.f(z, x_inj)
        if torch.is_grad_enabled():
            z0 = z.clone().detach().requires_grad_()
            f0 = self.f(z0, x_inj)

            def backward_hook(grad):
                u, self.backward_res = anderson(
                    lambda u: torch.autograd.grad(f0, z0, u, retain_graph=True)[0] + grad,
                    grad)
                return u

            z.register_hook(backward_hook)
        return z

    @torch.no_grad()
    def project(self, max_norm=0.9):
        # keep f a contraction in z (the fixed point exists, is unique, and Anderson finds it)
        norm = torch.linalg.matrix_norm(self.linear.weight, ord=2)
        if norm > max_norm:
            self.linear.weight.mul_(max_norm / norm)

    def unrolled(self, x, iters=80):
        x_inj = self.inject(x)
        z = torch.zeros_like(x_inj)
        for _ in range(iters):
            z = self.f(z, x_inj)
        return z


# three classes of 4-D points on interleaved rings
n, classes, d_in, hidden = 512, 3, 4, 24
label = rng.integers(0, classes, n)
angle = rng.uniform(0, 2 * np.pi, n)
r = 1.0 + label + rng.normal(0, 0.25, n)
pts = np.stack([r * np.cos(angle), r * np.sin(angle), rng.normal(0, 1, n),
                np.sin(angle * 3)], 1) / 2.0
x_all = torch.tensor(pts, dtype=torch.float32)
y_all = torch.tensor(label)
train = TensorDataset(x_all[:384], y_all[:384])
x_test, y_test = x_all[384:].to(device), y_all[384:].to(device)
loader = DataLoader(train, batch_size=48, shuffle=True)

deq = DEQLayer(d_in, hidden)
model = nn.Sequential(deq, nn.Linear(hidden, classes)).to(device)

# implicit gradients against backpropagation through the unrolled iterations
xb, yb = x_all[:64].to(device), y_all[:64].to(device)
loss = F.cross_entropy(model(xb), yb)
implicit = torch.autograd.grad(loss, list(model.parameters()))
print(f'forward: {len(deq.forward_res)} Anderson steps, converged {bool(deq.forward_res[-1] < 1e-5)}; '
      f'backward: {len(deq.backward_res)} steps, converged {bool(deq.backward_res[-1] < 1e-5)}')
unrolled_loss = F.cross_entropy(model[1](deq.unrolled(xb)), yb)
unrolled = torch.autograd.grad(unrolled_loss, list(model.parameters()))
print(f'loss {loss.item():.6f} | unrolled loss {unrolled_loss.item():.6f}')
for (name, _), gi, gu in zip(model.named_parameters(), implicit, unrolled):
    print(f'{name:18s} grad norm {gi.norm().item():.5f} | matches unrolled '
          f'{torch.allclose(gi, gu, rtol=1e-3, atol=1e-6)}')

optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(1, 7):
    model.train()
    total, steps = 0.0, []
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        deq.project()
        total += loss.item() * len(xb)
        steps.append(len(deq.forward_res))
    model.eval()
    with torch.no_grad():
        logits = model(x_test)
        test_loss = F.cross_entropy(logits, y_test).item()
        acc = (logits.argmax(1) == y_test).float().mean().item()
    print(f'epoch {epoch} | train loss {total / len(train):.4f} | test loss {test_loss:.4f} | '
          f'acc {acc:.3f} | mean forward steps {sum(steps) / len(steps):.1f}')
