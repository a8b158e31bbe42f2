"""A neural spline flow (Durkan et al., 2019, "Neural Spline Flows"), written for the xpnn
tests after the paper's rational-quadratic coupling transform, on a made-up two-moons
density.

Each coupling layer keeps one coordinate and maps the other through a monotone
rational-quadratic spline on [-B, B] whose K bin widths and heights come from ``F.softmax``
of a small network's outputs, the knots from ``torch.cumsum`` padded with a leading zero by
``F.pad``, the derivatives at the inner knots from ``F.softplus`` (1 at both ends, padded by
``F.pad(value=1.0)``). The bin of each input is found by ``torch.searchsorted`` on the knots,
the bin's parameters picked by ``torch.gather``; the inverse solves the quadratic in closed
form; the log-determinant is ``torch.log`` of the derivative. Inputs outside [-B, B] pass
through unchanged (``torch.where``, log-det 0). The flow is checked invertible by
``torch.allclose`` on x -> z -> x and trained by maximum likelihood under a standard
``torch.distributions.Normal`` base with Adam on a shuffled DataLoader.

    python tests/pytorch_programs/tutorials/neural_spline_flow.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

K, BOUND, MIN_BIN, MIN_DERIV = 8, 3.0, 1e-3, 1e-3


def two_moons(count):
    t = rng.uniform(0, math.pi, count)
    upper = rng.random(count) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x - 0.5, y - 0.25], 1) * 1.5 + rng.normal(0, 0.08, (count, 2))
    return torch.tensor(points, dtype=torch.float32)


def spline_params(raw):
    """raw: (N, 3K - 1) -> knots x, knots y (N, K + 1), derivatives (N, K + 1)."""
    w, h, d = raw[:, :K], raw[:, K:2 * K], raw[:, 2 * K:]
    w = MIN_BIN + (1 - MIN_BIN * K) * F.softmax(w, dim=-1)
    h = MIN_BIN + (1 - MIN_BIN * K) * F.softmax(h, dim=-1)
    kx = F.pad(torch.cumsum(w, dim=-1), (1, 0)) * 2 * BOUND - BOUND
    ky = F.pad(torch.cumsum(h, dim=-1), (1, 0)) * 2 * BOUND - BOUND
    kx[:, -1], ky[:, -1] = BOUND, BOUND
    deriv = F.pad(MIN_DERIV + F.softplus(d), (1, 1), value=1.0)
    return kx, ky, deriv


def pick(t, idx):
    return torch.gather(t, 1, idx).squeeze(1)


def rq_spline(x, raw, inverse=False):
    """Transform x (N,) by the spline; returns y and log|dy/dx| of the forward map."""
    kx, ky, deriv = spline_params(raw)
    inside = (x >= -BOUND) & (x <= BOUND)
    xc = x.clamp(-BOUND, BOUND)
    knots = ky if inverse else kx
    idx = torch.searchsorted(knots[:, 1:-1].contiguous(), xc[:, None].contiguous())
    x0, x1 = pick(kx, idx), pick(kx, idx + 1)
    y0, y1 = pick(ky, idx), pick(ky, idx + 1)
    d0, d1 = pick(deriv, idx), pick(deriv, idx + 1)
    w, h = x1 - x0, y1 - y0
    s = h / w
    if inverse:
        dy = xc - y0
        a = h * (s - d0) + dy * (d1 + d0 - 2 * s)
        b = h * d0 - dy * (d1 + d0 - 2 * s)
        c = -s * dy
        disc = (b.pow(2) - 4 * a * c).clamp_min(0)
        xi = (2 * c) / (-b - torch.sqrt(disc))
        out = xi * w + x0
    else:
        xi = (xc - x0) / w
    one = xi * (1 - xi)
    denom = s + (d1 + d0 - 2 * s) * one
    if not inverse:
        out = y0 + h * (s * xi.pow(2) + d0 * one) / denom
    dnum = s.pow(2) * (d1 * xi.pow(2) + 2 * s * one + d0 * (1 - xi).pow(2))
    logdet = torch.log(dnum) - 2 * torch.log(denom)
    y = torch.where(inside, out, x)
    logdet = torch.where(inside, logdet, torch.zeros_like(logdet))
    return y, logdet


class Coupling(nn.Module):
    def __init__(self, keep, hidden=32):
        super().__init__()
        self.keep = keep
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, 3 * K - 1))

    def forward(self, x, inverse=False):
        a, b = x[:, self.keep], x[:, 1 - self.keep]
        raw = self.net(a[:, None])
        b2, logdet = rq_spline(b, raw, inverse=inverse)
        cols = [a, b2] if self.keep == 0 else [b2, a]
        return torch.stack(cols, dim=1), logdet


class Flow(nn.Module):
    def __init__(self, layers=4):
        super().__init__()
        self.layers = nn.ModuleList(Coupling(i % 2) for i in range(layers))
        self.base = Normal(torch.tensor(0.0), torch.tensor(1.0))

    def forward(self, x):
        total = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, logdet = layer(x)
            total = total + logdet
        return x, total

    def inverse(self, z):
        for layer in reversed(self.layers):
            z, _ = layer(z, inverse=True)
        return z

    def log_prob(self, x):
        z, logdet = self(x)
        return self.base.log_prob(z).sum(-1) + logdet


train_x, test_x = two_moons(512), two_moons(256)
print(f'data mean {train_x.mean(0).tolist()}')
flow = Flow()
print(f'parameters {sum(p.numel() for p in flow.parameters())}')

with torch.no_grad():
    kx, ky, deriv = spline_params(torch.randn(3, 3 * K - 1))
    print(f'knots monotone {bool((kx.diff(dim=-1) > 0).all())} and '
          f'{bool((ky.diff(dim=-1) > 0).all())}, ends {kx[0, 0].item():.1f} {kx[0, -1].item():.1f}')

loader = DataLoader(TensorDataset(train_x), batch_size=64, shuffle=True)
optimizer = torch.optim.Adam(flow.parameters(), lr=3e-3)


def check_inverse(tag):
    with torch.no_grad():
        probe = torch.cat([test_x[:64], torch.tensor([[4.0, -3.5], [0.2, 5.0]])])
        z, _ = flow(probe)
        back = flow.inverse(z)
        err = (back - probe).abs().max()
        print(f'{tag}: x -> z -> x allclose {torch.allclose(back, probe, atol=1e-2)}, '
              f'max error below 1e-2 {bool(err < 1e-2)}, '
              f'outside point kept {torch.equal(z[-2], probe[-2])}')


check_inverse('untrained')
with torch.no_grad():
    print(f'untrained | test nll {-flow.log_prob(test_x).mean().item():.4f}')

for epoch in range(1, 7):
    total = 0.0
    for (batch,) in loader:
        loss = -flow.log_prob(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_nll = -flow.log_prob(test_x).mean().item()
    print(f'epoch {epoch} | train nll {total / len(loader):.4f} | test nll {test_nll:.4f}')

check_inverse('trained')
with torch.no_grad():
    z = torch.randn(200, 2)
    samples = flow.inverse(z)
    print(f'samples mean {samples.mean().item():.4f} std {samples.std().item():.4f}')
