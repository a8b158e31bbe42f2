"""Conditional flow matching (Lipman et al., 2023, "Flow Matching for Generative Modeling";
Tong et al., 2023), written for the xpnn tests on a made-up 2-D target: eight Gaussians on a
circle.

Training: noise x0 by ``torch.randn_like``, data x1, times t by ``torch.rand``, the linear
interpolant x_t = (1 - (1 - sigma_min) t) x0 + t x1 and its target velocity
x1 - (1 - sigma_min) x0; an MLP vector field v(x_t, t) with sinusoidal time features
(``torch.sin`` / ``torch.cos`` of t times ``torch.exp`` frequencies, concatenated to x) is
regressed on it by ``F.mse_loss``; AdamW.

Sampling under ``torch.no_grad()``: ODE integration from noise at t = 0 to t = 1 by Euler
steps and by the midpoint method (``torch.full`` times). Quality: a Wasserstein-like distance
to fresh target samples, the mean over the two axes of the 1-D W1 distances computed by
``torch.sort`` per axis, and the mean per-mode assignment error by ``torch.cdist`` + ``argmin``.

    python tests/pytorch_programs/tutorials/flow_matching.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
modes = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * 2.0
SIGMA_MIN = 1e-3


def sample_target(n):
    which = torch.from_numpy(rng.integers(0, 8, n))
    return modes[which] + 0.15 * torch.from_numpy(rng.normal(size=(n, 2)).astype(np.float32))


def time_features(t, n_freq=8):
    freqs = torch.exp(torch.linspace(0.0, math.log(50.0), n_freq, device=t.device))
    angle = t[:, None] * freqs[None, :] * 2 * math.pi
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)


class VectorField(nn.Module):
    def __init__(self, hidden=64, n_freq=8):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 + 2 * n_freq, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2))

    def forward(self, x, t):
        return self.net(torch.cat([x, time_features(t)], dim=1))


def sample(model, x, steps, method):
    dt = 1.0 / steps
    for k in range(steps):
        t = torch.full((x.shape[0],), k * dt, device=x.device)
        if method == 'euler':
            x = x + dt * model(x, t)
        else:
            x_mid = x + 0.5 * dt * model(x, t)
            x = x + dt * model(x_mid, t + 0.5 * dt)
    return x


def sliced_w1(a, b):
    """The mean over the axes of the 1-D Wasserstein-1 distances (equal sample sizes)."""
    return (torch.sort(a, dim=0).values - torch.sort(b, dim=0).values).abs().mean()


def mode_error(x):
    d = torch.cdist(x, modes.to(x.device))
    return d.min(dim=1).values.mean()


model = VectorField().to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
reference = sample_target(1024).to(device)


def evaluate(steps=20):
    model.eval()
    with torch.no_grad():
        noise = torch.randn(1024, 2, device=device)
        euler = sample(model, noise, steps, 'euler')
        mid = sample(model, noise, steps // 2, 'midpoint')
        out = (sliced_w1(euler, reference).item(), sliced_w1(mid, reference).item(),
               mode_error(euler).item())
    model.train()
    return out


w_e, w_m, err = evaluate()
print(f'untrained | w1 euler {w_e:.4f} | w1 midpoint {w_m:.4f} | mode error {err:.4f} | '
      f'noise baseline {sliced_w1(torch.randn(1024, 2), reference).item():.4f}')
for epoch in range(1, 7):
    total = 0.0
    for _ in range(50):
        x1 = sample_target(256).to(device)
        x0 = torch.randn_like(x1)
        t = torch.rand(x1.shape[0], device=device)
        xt = (1 - (1 - SIGMA_MIN) * t[:, None]) * x0 + t[:, None] * x1
        target = x1 - (1 - SIGMA_MIN) * x0
        loss = F.mse_loss(model(xt, t), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    w_e, w_m, err = evaluate()
    print(f'epoch {epoch} | cfm loss {total / 50:.4f} | w1 euler {w_e:.4f} | '
          f'w1 midpoint {w_m:.4f} | mode error {err:.4f}')
