"""Sliced score matching (Song et al., 2019, "Sliced Score Matching: A Scalable Approach to
Density and Score Estimation") with a Hutchinson trace estimator, written for the xpnn tests
on made-up 2-D data, with annealed Langevin sampling (Song & Ermon, 2019) at the end.

A small noise-conditional score network s(x, sigma) is trained on a mixture of two Gaussians
perturbed at a few noise levels. The score-matching objective tr(ds/dx) + |s|^2 / 2 has its
trace estimated by Hutchinson's trick: Rademacher probes v from
``torch.randint(0, 2, ...) * 2 - 1``, the vector-Jacobian product v^T ds/dx by
``torch.autograd.grad(create_graph=True)`` so that the loss is differentiated again by
``backward``. Each epoch the exact objective on a fixed batch is computed from the full
Jacobian by ``torch.func.vmap(torch.func.jacrev(...))`` and its ``diagonal`` and set beside
the Hutchinson estimate of the same batch. Finally samples are drawn by annealed Langevin
dynamics under ``torch.no_grad()`` (``torch.randn_like`` noise) and their moments printed.

    python tests/pytorch_programs/tutorials/hutchinson_score_matching.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.func import jacrev, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)

sigmas = torch.tensor([1.0, 0.5, 0.25, 0.1])


def make_data(count):
    centers = np.array([[-1.5, 0.0], [1.5, 0.5]], dtype=np.float32)
    which = rng.integers(0, 2, count)
    x = centers[which] + 0.3 * rng.standard_normal((count, 2)).astype(np.float32)
    return torch.from_numpy(x.astype(np.float32))


class ScoreNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(3, hidden), nn.Softplus(),
            nn.Linear(hidden, hidden), nn.Softplus(),
            nn.Linear(hidden, 2))

    def forward(self, x, sigma):
        # the output scaled by 1/sigma, as NCSN's scores grow like 1/sigma
        h = torch.cat([x, torch.log(sigma)], dim=-1)
        return self.net(h) / sigma


def hutchinson_loss(model, x, sigma, n_probes=1):
    """tr(ds/dx) by Rademacher probes plus |s|^2 / 2, weighted by sigma^2 per sample."""
    x = x.detach().requires_grad_(True)
    s = model(x, sigma)
    trace = torch.zeros(x.shape[0])
    for _ in range(n_probes):
        v = torch.randint(0, 2, x.shape).float() * 2 - 1
        vjp = torch.autograd.grad((s * v).sum(), x, create_graph=True)[0]
        trace = trace + (vjp * v).sum(dim=-1) / n_probes
    per = trace + 0.5 * (s ** 2).sum(dim=-1)
    return (per * sigma.squeeze(-1) ** 2).mean()


def exact_loss(model, x, sigma):
    """The same objective with the trace of the full Jacobian (vmap over jacrev)."""
    def score_one(xi, si):
        return model(xi, si)
    jac = vmap(jacrev(score_one, argnums=0))(x, sigma)      # (B, 2, 2)
    trace = jac.diagonal(dim1=-2, dim2=-1).sum(dim=-1)
    s = model(x, sigma)
    per = trace + 0.5 * (s ** 2).sum(dim=-1)
    return (per * sigma.squeeze(-1) ** 2).mean()


def perturb(x):
    idx = torch.arange(x.shape[0]) % len(sigmas)
    sigma = sigmas[idx].unsqueeze(-1)
    return x + sigma * torch.randn_like(x), sigma


train = make_data(512)
probe_x = make_data(128)
probe_sigma = sigmas[torch.arange(128) % len(sigmas)].unsqueeze(-1)
probe_noisy = probe_x + probe_sigma * torch.from_numpy(
    rng.standard_normal((128, 2)).astype(np.float32))

model = ScoreNet()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

with torch.no_grad():
    print(f"untrained score norm {model(probe_noisy, probe_sigma).norm(dim=-1).mean().item():.5f}")
ex = exact_loss(model, probe_noisy, probe_sigma)
print(f"untrained exact loss {ex.item():.5f}")
with torch.no_grad():
    jac = vmap(jacrev(lambda xi, si: model(xi, si)))(probe_noisy[:4], probe_sigma[:4])
print("jacobian shape", tuple(jac.shape))

batch = 64
for epoch in range(1, 7):
    perm = torch.from_numpy(rng.permutation(len(train)))
    total = 0.0
    for i in range(0, len(train), batch):
        xb = train[perm[i:i + batch]]
        noisy, sigma = perturb(xb)
        loss = hutchinson_loss(model, noisy, sigma)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    ex = exact_loss(model, probe_noisy, probe_sigma).item()
    est = hutchinson_loss(model, probe_noisy, probe_sigma, n_probes=32).item()
    print(f"epoch {epoch} | ssm loss {total / len(train):.4f} | exact loss {ex:.4f} "
          f"| hutchinson(32) {est:.4f}")


@torch.no_grad()
def annealed_langevin(model, n, steps=20, eps=2e-3):
    x = torch.randn(n, 2) * sigmas[0]
    for sigma in sigmas:
        s_col = sigma.expand(n, 1)
        step = eps * (sigma / sigmas[-1]) ** 2
        for _ in range(steps):
            x = x + step * model(x, s_col) + torch.sqrt(2 * step) * torch.randn_like(x)
    return x


samples = annealed_langevin(model, 256)
right = (samples[:, 0] > 0).float().mean()
print(f"samples mean {samples.mean(0).tolist()[0]:.3f} {samples.mean(0).tolist()[1]:.3f} "
      f"| right mode fraction {right.item():.3f} | finite {bool(torch.isfinite(samples).all())}")
print(f"sample std x {samples[:, 0].std().item():.3f} | data std x {train[:, 0].std().item():.3f}"
      f" | sqrt(2) {math.sqrt(2):.3f}")
