"""Glow (Kingma and Dhariwal, 2018, "Glow: Generative Flow with Invertible 1x1
Convolutions"), written for the xpnn tests on made-up 8x8 one-channel images.

The images (bars and blobs, dequantized by uniform noise drawn with NumPy) are squeezed by
``F.pixel_unshuffle(x, 2)`` into 4 channels at 4x4; four flow steps follow, each:

* ActNorm: a per-channel scale and bias initialised from the first batch (data-dependent
  init under ``torch.no_grad``, remembered in a ``register_buffer`` flag so a
  ``state_dict`` carries it); log-det ``H * W * sum(log|s|)``;
* an invertible 1x1 convolution, two ways: a plain weight whose log-det is
  ``torch.linalg.slogdet``, and the LU parametrization from a random rotation
  (``torch.linalg.qr`` of ``torch.randn``) factored by ``torch.linalg.lu`` into a fixed
  permutation, a unit lower ``torch.tril`` factor, a strictly upper ``torch.triu`` factor
  and the diagonal kept as ``log(abs(s))`` with ``sign(s)`` a buffer, so the log-det is a
  sum (the two agree by ``torch.allclose``);
* an affine coupling: half the channels give a scale (``torch.sigmoid`` of a shifted output)
  and a shift for the other half through a small conv net whose last layer starts at zero.

The negative log-likelihood in bits per dimension under a standard normal prior is trained
by Adam with ``clip_grad_norm_``. The inverse runs the steps backwards (the 1x1 convolution
by ``torch.linalg.inv`` and by ``torch.linalg.solve``) and must reconstruct the input; samples
are drawn at a temperature and inverted, then ``F.pixel_shuffle``-d back to 8x8.

    python tests/pytorch_programs/tutorials/glow_flow.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
rng = np.random.default_rng(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def make_images(count):
    images = np.zeros((count, 1, 8, 8))
    for img in images:
        if rng.random() < 0.5:
            img[0, rng.integers(0, 8), :] = 1.0
        else:
            img[0, :, rng.integers(0, 8)] = 1.0
    images = images * 0.75 + rng.uniform(0, 0.25, images.shape)     # dequantized
    return torch.from_numpy(images.astype(np.float32))


class ActNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer('initialized', torch.tensor(False))

    def forward(self, x):
        if not self.initialized:
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3), keepdim=True)
                std = x.std(dim=(0, 2, 3), keepdim=True)
                self.bias.copy_(-mean)
                self.log_scale.copy_(-torch.log(std + 1e-6))
                self.initialized.fill_(True)
        logdet = x.shape[2] * x.shape[3] * self.log_scale.sum()
        return (x + self.bias) * torch.exp(self.log_scale), logdet

    def inverse(self, y):
        return y * torch.exp(-self.log_scale) - self.bias


class InvConv(nn.Module):
    def __init__(self, channels):
        super().__init__()
        w, _ = torch.linalg.qr(torch.randn(channels, channels))
        self.weight = nn.Parameter(w)

    def matrix(self):
        return self.weight

    def logdet(self):
        return torch.linalg.slogdet(self.weight)[1]

    def forward(self, x):
        w = self.matrix()
        logdet = x.shape[2] * x.shape[3] * self.logdet()
        return F.conv2d(x, w.view(*w.shape, 1, 1)), logdet

    def inverse(self, y):
        w_inv = torch.linalg.inv(self.matrix())
        return F.conv2d(y, w_inv.view(*w_inv.shape, 1, 1))


class InvConvLU(InvConv):
    def __init__(self, channels):
        nn.Module.__init__(self)
        w, _ = torch.linalg.qr(torch.randn(channels, channels))
        P, L, U = torch.linalg.lu(w)
        s = torch.diag(U)
        self.register_buffer('P', P)
        self.register_buffer('sign_s', torch.sign(s))
        self.register_buffer('l_mask', torch.tril(torch.ones(channels, channels), -1))
        self.register_buffer('eye', torch.eye(channels))
        self.L = nn.Parameter(L)
        self.U = nn.Parameter(torch.triu(U, 1))
        self.log_s = nn.Parameter(torch.log(torch.abs(s)))

    def matrix(self):
        L = self.L * self.l_mask + self.eye
        U = self.U * self.l_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.P @ L @ U

    def logdet(self):
        return self.log_s.sum()

    def inverse(self, y):
        b, c, h, w = y.shape
        flat = y.permute(1, 0, 2, 3).reshape(c, -1)           # (C, B*H*W)
        x = torch.linalg.solve(self.matrix(), flat)
        return x.reshape(c, b, h, w).permute(1, 0, 2, 3)


class Coupling(nn.Module):
    def __init__(self, channels, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels // 2, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def scale_shift(self, xa):
        h = self.net(xa)
        shift, raw = h[:, 0::2], h[:, 1::2]
        return torch.sigmoid(raw + 2.0), shift

    def forward(self, x):
        xa, xb = x.chunk(2, dim=1)
        scale, shift = self.scale_shift(xa)
        yb = (xb + shift) * scale
        return torch.cat([xa, yb], dim=1), torch.log(scale).sum(dim=(1, 2, 3))

    def inverse(self, y):
        ya, yb = y.chunk(2, dim=1)
        scale, shift = self.scale_shift(ya)
        return torch.cat([ya, yb / scale - shift], dim=1)


class Glow(nn.Module):
    def __init__(self, channels=4, n_steps=4):
        super().__init__()
        self.steps = nn.ModuleList()
        for i in range(n_steps):
            conv = InvConvLU(channels) if i % 2 else InvConv(channels)
            self.steps.append(nn.ModuleList([ActNorm(channels), conv, Coupling(channels)]))

    def forward(self, x):
        z = F.pixel_unshuffle(x, 2)
        logdet = torch.zeros(x.shape[0], device=x.device)
        for step in self.steps:
            for layer in step:
                z, ld = layer(z)
                logdet = logdet + ld
        return z, logdet

    def inverse(self, z):
        for step in reversed(self.steps):
            for layer in reversed(step):
                z = layer.inverse(z)
        return F.pixel_shuffle(z, 2)


def bits_per_dim(x, model):
    z, logdet = model(x)
    log_prior = (-0.5 * (z ** 2 + math.log(2 * math.pi))).sum(dim=(1, 2, 3))
    n_dims = x[0].numel()
    return (-(log_prior + logdet) / (n_dims * math.log(2))).mean()


train, test = make_images(512).to(device), make_images(128).to(device)
model = Glow().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
lu = model.steps[1][1]
print(f'LU factors reproduce the rotation: '
      f'{torch.allclose(lu.matrix(), lu.P @ (lu.L * lu.l_mask + lu.eye) @ torch.triu(lu.U + torch.diag(lu.sign_s * lu.log_s.exp())), atol=1e-5)}; '
      f'a rotation: |log|det|| < 1e-5 by slogdet '
      f'{bool(torch.linalg.slogdet(lu.matrix())[1].abs() < 1e-5)}, '
      f'by the diagonal {bool(lu.logdet().abs() < 1e-5)}')

for epoch in range(1, 7):
    total = 0.0
    for i in range(0, len(train), 64):
        loss = bits_per_dim(train[i:i + 64], model)
        optimizer.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_bpd = bits_per_dim(test, model)
    print(f'epoch {epoch}: train bits/dim {total / 8:.4f} | test bits/dim '
          f'{test_bpd.item():.4f} | last grad norm {norm.item():.3f}')

with torch.no_grad():
    print('actnorm initialized flags:', [bool(s[0].initialized) for s in model.steps],
          'in the state_dict:', 'steps.0.0.initialized' in model.state_dict())
    z, _ = model(test[:16])
    recon = model.inverse(z)
    print(f'reconstruction max error {(recon - test[:16]).abs().max().item():.2e}')
    sign, logabs = torch.linalg.slogdet(lu.matrix())
    print(f'LU log|det| {lu.logdet().item():.5f} vs slogdet {logabs.item():.5f}, '
          f'sign {sign.item():.0f}')
    samples = model.inverse(0.7 * torch.randn(8, 4, 4, 4, device=device))
    print(f'samples {tuple(samples.shape)}, mean {samples.mean().item():.3f}, '
          f'row max share {samples.amax(dim=3).mean().item():.3f}')
