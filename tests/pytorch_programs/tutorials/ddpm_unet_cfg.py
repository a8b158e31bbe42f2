"""A tiny class-conditional DDPM with classifier-free guidance, written for the xpnn tests
after Ho et al. (2020), Nichol & Dhariwal (2021) and Ho & Salimans (2022), on made-up 8x8
images: class 0 a horizontal bar, class 1 a vertical bar, class 2 a centred square.

The noise predictor is a small U-Net: ``nn.Conv2d`` blocks with ``nn.GroupNorm`` and
``nn.SiLU``, a sinusoidal time embedding (``torch.exp`` of a ``torch.arange`` frequency
ramp, ``torch.cat`` of sin and cos) through an MLP, a label ``nn.Embedding`` with an extra
"no label" row, a strided-conv downsample, ``F.interpolate(scale_factor=2,
mode="nearest")`` upsampling and a ``torch.cat`` skip connection. Betas follow the cosine
schedule (``torch.cos`` of the shifted time, clipped by ``clamp``), ``alphas_cumprod`` by
``torch.cumprod``. Training draws ``torch.randint`` timesteps and ``torch.randn_like``
noise and drops the labels to the null class where ``torch.rand(B) < 0.2``
(``torch.where``); the loss is the MSE on the noise, under AdamW.

Sampling runs deterministic DDIM steps (eta = 0) over a strided subsequence of timesteps
under ``torch.no_grad()``, with guidance eps_uncond + w (eps_cond - eps_uncond), the
conditional and unconditional passes batched by ``torch.cat``; each sample is scored
against the class templates by correlation.

    python tests/pytorch_programs/tutorials/ddpm_unet_cfg.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(17)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, size, T = 3, 8, 100
templates = -torch.ones(n_classes, 1, size, size)
templates[0, 0, 3:5, 1:7] = 1.0
templates[1, 0, 1:7, 3:5] = 1.0
templates[2, 0, 2:6, 2:6] = 1.0


def make_batch(count):
    labels = torch.randint(n_classes, (count,))
    images = templates[labels] + 0.1 * torch.randn(count, 1, size, size)
    return images.clamp(-1, 1), labels


def cosine_betas(steps, s=0.008):
    t = torch.linspace(0, steps, steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    alphas_cumprod = f / f[0]
    return (1 - alphas_cumprod[1:] / alphas_cumprod[:-1]).clamp(max=0.999).float()


betas = cosine_betas(T).to(device)
alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = t.float().unsqueeze(1) * freqs
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class Block(nn.Module):
    def __init__(self, c_in, c_out, emb_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(4, c_out)
        self.emb = nn.Linear(emb_dim, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(4, c_out)
        self.act = nn.SiLU()
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.act(self.norm1(self.conv1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.act(self.norm2(self.conv2(h)))
        return h + self.skip(x)


class TinyUNet(nn.Module):
    def __init__(self, ch=16, emb_dim=32):
        super().__init__()
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(),
                                      nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(n_classes + 1, emb_dim)      # the last row: no label
        self.inc = nn.Conv2d(1, ch, 3, padding=1)
        self.down1 = Block(ch, ch, emb_dim)
        self.downsample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
        self.mid = Block(ch, 2 * ch, emb_dim)
        self.up1 = Block(3 * ch, ch, emb_dim)
        self.out = nn.Sequential(nn.GroupNorm(4, ch), nn.SiLU(), nn.Conv2d(ch, 1, 3, padding=1))

    def forward(self, x, t, labels):
        emb = self.time_mlp(timestep_embedding(t, self.emb_dim)) + self.label_emb(labels)
        h0 = self.down1(self.inc(x), emb)                      # (B, ch, 8, 8)
        h = self.mid(self.downsample(h0), emb)                 # (B, 2ch, 4, 4)
        h = F.interpolate(h, scale_factor=2, mode='nearest')   # (B, 2ch, 8, 8)
        h = self.up1(torch.cat([h, h0], dim=1), emb)
        return self.out(h)


model = TinyUNet().to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
null_label, p_uncond, batch_size = n_classes, 0.2, 64
running = 0.0

for step in range(1, 401):
    x0, labels = make_batch(batch_size)
    x0, labels = x0.to(device), labels.to(device)
    drop = torch.rand(batch_size, device=device) < p_uncond
    labels = torch.where(drop, torch.full_like(labels, null_label), labels)
    t = torch.randint(0, T, (batch_size,), device=device)
    noise = torch.randn_like(x0)
    a_bar = alphas_cumprod[t].view(-1, 1, 1, 1)
    x_t = a_bar.sqrt() * x0 + (1 - a_bar).sqrt() * noise
    loss = F.mse_loss(model(x_t, t, labels), noise)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    running += loss.item()
    if step % 50 == 0:
        print(f'step {step} | mean loss {running / 50:.4f}')
        running = 0.0


@torch.no_grad()
def ddim_sample(labels, guidance, steps=20):
    model.eval()
    n = len(labels)
    x = torch.randn(n, 1, size, size, device=device)
    times = torch.linspace(T - 1, 0, steps).round().long().tolist()
    for i, t in enumerate(times):
        t_batch = torch.full((2 * n,), t, device=device, dtype=torch.long)
        both = torch.cat([labels, torch.full_like(labels, null_label)])
        eps_cond, eps_uncond = model(torch.cat([x, x]), t_batch, both).chunk(2)
        eps = eps_uncond + guidance * (eps_cond - eps_uncond)
        a_bar = alphas_cumprod[t]
        a_prev = alphas_cumprod[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
        x0_pred = ((x - (1 - a_bar).sqrt() * eps) / a_bar.sqrt()).clamp(-1, 1)
        x = a_prev.sqrt() * x0_pred + (1 - a_prev).sqrt() * eps
    model.train()
    return x


def class_match(samples, labels):
    flat = samples.flatten(1)
    flat = flat - flat.mean(1, keepdim=True)
    ref = templates.flatten(1).to(device)
    ref = ref - ref.mean(1, keepdim=True)
    corr = (flat @ ref.T) / (flat.norm(dim=1, keepdim=True) * ref.norm(dim=1) + 1e-8)
    return (corr.argmax(1) == labels).float().mean().item(), corr.max(1).values.mean().item()


labels = torch.arange(n_classes, device=device).repeat(8)
for guidance in (0.0, 1.0, 3.0):
    samples = ddim_sample(labels, guidance)
    acc, corr = class_match(samples, labels)
    print(f'guidance {guidance:.1f} | class match {acc:.3f} | mean correlation {corr:.3f} | '
          f'pixel range [{samples.min().item():.2f}, {samples.max().item():.2f}]')
