"""An energy-based model on 2-D data trained by contrastive divergence with Langevin
sampling, written small for the xpnn tests after Du and Mordatch (2019, "Implicit Generation
and Generalization in Energy-Based Models"), on made-up data: points on a ring of 8
Gaussian blobs.

The energy E(x) is an MLP (SiLU). Negative samples come from a replay buffer (95% of a batch,
the rest fresh noise) refined by Langevin steps: x <- x - step * dE/dx + noise, the gradient
taken by ``torch.autograd.grad(energy.sum(), x)`` on a ``.detach().requires_grad_()`` copy,
the noise by ``torch.randn_like``, the samples clamped to the data's box. The loss is
E(data) - E(samples) plus a small regularizer on the squared energies; the refined samples
go back into the buffer. The quality of samples is the mean distance from a sample to its
nearest data point, by ``torch.cdist(...).min(dim=1)``, printed against fresh noise's.

    python tests/pytorch_programs/tutorials/langevin_ebm.py
"""
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(13)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

n_blobs, n_points = 8, 1024
angles = 2 * math.pi * torch.randint(0, n_blobs, (n_points,)).float() / n_blobs
data = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) \
    + 0.15 * torch.randn(n_points, 2)
loader = DataLoader(TensorDataset(data), batch_size=128, shuffle=True, drop_last=True)


class Energy(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                 nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def noise(n):
    return (torch.rand(n, 2) * 6 - 3).to(device)


def langevin(model, x, steps=20, step_size=0.2, sigma=0.03):
    was_training = model.training
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = x.detach()
    for _ in range(steps):
        x.requires_grad_()
        energy = model(x)
        grad, = torch.autograd.grad(energy.sum(), x)
        x = (x - step_size * grad + sigma * torch.randn_like(x)).detach().clamp(-3, 3)
    for p in model.parameters():
        p.requires_grad_(True)
    model.train(was_training)
    return x


def sample_quality(samples):
    """Mean distance from each sample to its nearest data point."""
    return torch.cdist(samples, data.to(device)).min(dim=1).values.mean().item()


model = Energy().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, betas=(0.0, 0.999))
buffer = noise(1024)
print(f'fresh noise: mean distance to data {sample_quality(noise(512)):.4f}')
for epoch in range(1, 11):
    total_cd, total_reg = 0.0, 0.0
    for (xb,) in loader:
        xb = xb.to(device)
        idx = torch.randint(0, len(buffer), (len(xb),))
        start = buffer[idx]
        fresh = torch.rand(len(xb)) < 0.05
        start[fresh] = noise(int(fresh.sum().item()))
        negative = langevin(model, start)
        buffer[idx] = negative
        pos_energy, neg_energy = model(xb), model(negative)
        cd = pos_energy.mean() - neg_energy.mean()
        reg = (pos_energy ** 2 + neg_energy ** 2).mean()
        loss = cd + 0.1 * reg
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_cd += cd.item()
        total_reg += reg.item()
    with torch.no_grad():
        data_energy = model(data.to(device)).mean().item()
    print(f'epoch {epoch} | cd {total_cd / len(loader):.4f} | reg {total_reg / len(loader):.4f} '
          f'| data energy {data_energy:.3f} | buffer distance to data '
          f'{sample_quality(buffer):.4f}')

model.eval()
samples = langevin(model, noise(512), steps=100)
print(f'100 Langevin steps from noise: mean distance to data {sample_quality(samples):.4f}')
with torch.no_grad():
    print(f'energies: data {model(data.to(device)).mean().item():.3f}, '
          f'samples {model(samples).mean().item():.3f}, '
          f'noise {model(noise(512)).mean().item():.3f}')
