"""A denoising diffusion probabilistic model (Ho et al., 2020) on 2-D points, written for
the xpnn tests: two interleaved half-moons made with math, a linear beta schedule
(``torch.linspace``, ``torch.cumprod``, ``torch.sqrt``), the schedule picked out at random
timesteps (``torch.randint``, ``gather`` and indexing), sinusoidal time embeddings
(``torch.exp``, ``torch.arange``, ``torch.cat`` of sin and cos), an MLP noise predictor with
SiLU trained under MSE, then the reverse sampling loop under ``torch.no_grad()``.

    python tests/pytorch_programs/tutorials/ddpm.py
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)


def make_moons(n, noise=0.05):
    t = torch.rand(n) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    points = torch.cat([upper[: n // 2], lower[n // 2:]])
    points = points + noise * torch.randn_like(points)
    return (points - points.mean(0)) / points.std(0)


data = make_moons(1024)
print(f'data {tuple(data.shape)}, mean {data.mean().item():.3f}, std {data.std().item():.3f}')

T = 100
betas = torch.linspace(1e-4, 0.06, T)
alphas = 1.0 - betas
alphas_cumprod = torch.cumprod(alphas, dim=0)
alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
sqrt_alphas_cumprod = torch.sqrt(alphas_cumprod)
sqrt_one_minus_alphas_cumprod = torch.sqrt(1.0 - alphas_cumprod)
posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
print(f'alpha_bar at T: {alphas_cumprod[-1].item():.4f}')


def extract(a, t, shape):
    out = a.gather(-1, t)
    return out.reshape(t.shape[0], *((1,) * (len(shape) - 1)))


def q_sample(x0, t, noise):
    return (extract(sqrt_alphas_cumprod, t, x0.shape) * x0
            + extract(sqrt_one_minus_alphas_cumprod, t, x0.shape) * noise)


class SinusoidalPositionEmbeddings(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, time):
        half_dim = self.dim // 2
        embeddings = math.log(10000) / (half_dim - 1)
        embeddings = torch.exp(torch.arange(half_dim, device=time.device) * -embeddings)
        embeddings = time[:, None] * embeddings[None, :]
        return torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)


class Denoiser(nn.Module):
    def __init__(self, hidden=64, time_dim=16):
        super().__init__()
        self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(time_dim),
                                      nn.Linear(time_dim, hidden), nn.SiLU())
        self.inp = nn.Linear(2, hidden)
        self.net = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def forward(self, x, t):
        return self.net(self.inp(x) + self.time_mlp(t.float()))


model = Denoiser()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
batch_size = 128
ema = copy.deepcopy(model)
ema.requires_grad_(False)
ema_decay = 0.9

for epoch in range(1, 9):
    perm = torch.randperm(len(data))
    total = 0.0
    for i in range(0, len(data), batch_size):
        x0 = data[perm[i:i + batch_size]]
        t = torch.randint(0, T, (x0.shape[0],), device=x0.device).long()
        noise = torch.randn_like(x0)
        loss = F.mse_loss(model(q_sample(x0, t, noise), t), noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - ema_decay)
        total += loss.item()
    print(f'epoch {epoch} | loss {total / (len(data) // batch_size):.4f}')


@torch.no_grad()
def p_sample_loop(model, n, generator=None):
    model.eval()
    x = torch.randn(n, 2, generator=generator)
    for i in reversed(range(T)):
        t = torch.full((n,), i, dtype=torch.long)
        beta_t = betas[t][:, None]
        eps = model(x, t)
        mean = (x - beta_t / sqrt_one_minus_alphas_cumprod[t][:, None] * eps) / \
            torch.sqrt(alphas[t])[:, None]
        if i == 0:
            x = mean
        else:
            x = mean + torch.sqrt(posterior_variance[t])[:, None] * torch.randn(x.shape, generator=generator)
    return x


g = torch.Generator().manual_seed(0)
samples = p_sample_loop(model, 512, g)
ema_samples = p_sample_loop(ema, 512, torch.Generator().manual_seed(0))
dist = torch.cdist(samples, data).min(dim=1).values
print(f'samples mean {samples.mean(0).tolist()}, std {samples.std(0).tolist()}')
print(f'mean distance to the nearest data point {dist.mean().item():.4f}')
ema_dist = torch.cdist(ema_samples, data).min(dim=1).values
print(f'with the EMA weights {ema_dist.mean().item():.4f}')
noise_only = torch.cdist(torch.randn(512, 2), data).min(dim=1).values
print(f'for Gaussian noise: {noise_only.mean().item():.4f}')
