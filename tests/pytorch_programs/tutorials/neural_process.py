"""A conditional neural process (Garnelo et al., 2018, "Conditional Neural Processes"),
written for the xpnn tests on made-up random sine functions.

Each task is a sine with its own amplitude and phase, seen at 40 random points. Every
training step splits the points into a context and the targets by ``torch.randperm`` (the
context size drawn by ``torch.randint``). The encoder embeds each (x, y) context pair by an
MLP and aggregates by the mean over the context points; the decoder reads the
representation, ``expand``-ed to every target x, and gives a mean and a standard deviation
``0.1 + 0.9 * F.softplus(raw)``. The loss is the negative
``torch.distributions.Normal(mean, std).log_prob`` of the targets, trained by Adam.

At test time the predictive 80% and 95% intervals come from ``Normal.icdf``; their coverage,
the test NLL and the mean-squared error of the predictive mean are printed, against the
prior (no-context) fit's.

    python tests/pytorch_programs/tutorials/neural_process.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_points = 40


def sample_tasks(count):
    amplitude = rng.uniform(0.5, 2.0, (count, 1))
    phase = rng.uniform(0.0, math.pi, (count, 1))
    x = rng.uniform(-math.pi, math.pi, (count, n_points))
    y = amplitude * np.sin(x + phase)
    to = lambda a: torch.from_numpy(a[..., None].astype(np.float32)).to(device)
    return to(x), to(y)


def split(x, y, n_context):
    """A random context of ``n_context`` points; the targets are all the points."""
    perm = torch.randperm(x.shape[1], device=device)
    context = perm[:n_context]
    return x[:, context], y[:, context], x, y


class Encoder(nn.Module):
    def __init__(self, hidden=64, r_dim=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, r_dim))

    def forward(self, x_context, y_context):
        r_i = self.net(torch.cat([x_context, y_context], dim=-1))   # (B, Nc, r)
        return r_i.mean(dim=1)                                      # (B, r)


class Decoder(nn.Module):
    def __init__(self, hidden=64, r_dim=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(r_dim + 1, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2))

    def forward(self, r, x_target):
        r = r.unsqueeze(1).expand(-1, x_target.shape[1], -1)
        mean, raw = self.net(torch.cat([r, x_target], dim=-1)).chunk(2, dim=-1)
        return mean, 0.1 + 0.9 * F.softplus(raw)


class CNP(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, x_context, y_context, x_target):
        mean, std = self.decoder(self.encoder(x_context, y_context), x_target)
        return Normal(mean, std)


model = CNP().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x_test, y_test = sample_tasks(64)
test_context = torch.arange(10, device=device)
z80, z95 = Normal(0.0, 1.0).icdf(torch.tensor([0.9, 0.975], device=device))
print(f'z for 80% and 95% intervals: {z80.item():.4f} {z95.item():.4f}')


def evaluate():
    model.eval()
    with torch.no_grad():
        dist = model(x_test[:, test_context], y_test[:, test_context], x_test)
        nll = -dist.log_prob(y_test).mean()
        mse = F.mse_loss(dist.mean, y_test)
        inside80 = ((y_test - dist.mean).abs() <= z80 * dist.stddev).float().mean()
        inside95 = ((y_test - dist.loc).abs() <= z95 * dist.scale).float().mean()
    model.train()
    return nll.item(), mse.item(), inside80.item(), inside95.item()


nll, mse, c80, c95 = evaluate()
print(f'untrained: test nll {nll:.4f} | mse {mse:.4f} | coverage 80% {c80:.3f} 95% {c95:.3f}')
for epoch in range(1, 7):
    total = 0.0
    for step in range(40):
        x, y = sample_tasks(16)
        n_context = torch.randint(3, 20, (1,)).item()
        x_context, y_context, x_target, y_target = split(x, y, n_context)
        dist = model(x_context, y_context, x_target)
        loss = -dist.log_prob(y_target).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    nll, mse, c80, c95 = evaluate()
    print(f'epoch {epoch}: train nll {total / 40:.4f} | test nll {nll:.4f} | mse {mse:.4f} '
          f'| coverage 80% {c80:.3f} 95% {c95:.3f}')

# the prior: no context at all is the mean of an empty set, so one point stands in for it
with torch.no_grad():
    few = model(x_test[:, :1], y_test[:, :1], x_test)
    many = model(x_test[:, :30], y_test[:, :30], x_test)
    print(f'std with 1 context point {few.stddev.mean().item():.4f}, '
          f'with 30 {many.stddev.mean().item():.4f}')
    lower, upper = many.icdf(torch.tensor(0.05)), many.icdf(torch.tensor(0.95))
    print('interval of task 0 at its first 3 points:')
    print(torch.stack([lower[0, :3, 0], many.mean[0, :3, 0], upper[0, :3, 0]]).round(decimals=2))
