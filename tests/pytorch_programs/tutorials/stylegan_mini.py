"""A miniature StyleGAN2 (Karras et al., 2020, "Analyzing and Improving the Image Quality of
StyleGAN"), written for the xpnn tests on made-up 8x8 colour images.

The real images are soft coloured discs at random places. The generator follows the paper's
parts at toy size:

* equalized learning rate: every weight is stored as a unit normal (``torch.randn``) and
  scaled at run time by ``1 / sqrt(fan_in)`` (``EqualLinear`` through ``F.linear``, the
  mapping MLP's learning-rate multiplier included);
* a mapping network: the latent z normalised by ``torch.rsqrt`` of its mean square, then an
  MLP of ``EqualLinear`` layers with ``F.leaky_relu(0.2) * sqrt(2)``;
* modulated convolutions: the per-sample style scales the weight's input channels, the
  weight is demodulated by ``torch.rsqrt`` of its squared sum (``torch.einsum``), and the
  batch runs as one grouped ``F.conv2d(groups=batch)`` on a ``(1, B * C, H, W)`` view;
* noise injection: ``torch.randn`` per pixel times a learned per-channel strength;
* a learned constant 4x4 input, ``F.interpolate`` upsampling, a ``toRGB`` 1x1 modulated
  convolution without demodulation.

The discriminator is a small conv net. Losses are the non-saturating ones written with
``F.softplus``; the R1 penalty on real images takes ``torch.autograd.grad(create_graph=True)``
of the discriminator's outputs with respect to its (``requires_grad_``) input, every other
step (lazy regularization). Adam with ``betas=(0.0, 0.99)``; an EMA copy of the generator
(``copy.deepcopy``) follows by ``lerp_``. The distance between the real and generated
images' mean and standard deviation, per channel, is printed.

    python tests/pytorch_programs/tutorials/stylegan_mini.py
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

z_dim = w_dim = 32
size = 8


def make_images(count):
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx = rng.uniform(2, 6, (2, count, 1, 1))
    radius = rng.uniform(1.5, 2.5, (count, 1, 1))
    disc = 1 / (1 + np.exp(4 * (np.hypot(yy - cy, xx - cx) - radius)))
    colour = rng.uniform(0.2, 1.0, (count, 3, 1, 1))
    images = disc[:, None] * colour * 2 - 1                     # in [-1, 1]
    return torch.from_numpy(images.astype(np.float32))


class EqualLinear(nn.Module):
    def __init__(self, d_in, d_out, bias_init=0.0, lr_mul=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((d_out,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(d_in)
        self.lr_mul = lr_mul

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class Mapping(nn.Module):
    def __init__(self, n_layers=4):
        super().__init__()
        self.layers = nn.ModuleList([EqualLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=0.01)
                                     for i in range(n_layers)])

    def forward(self, z):
        w = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        for layer in self.layers:
            w = F.leaky_relu(layer(w), 0.2) * math.sqrt(2)
        return w


class ModulatedConv2d(nn.Module):
    def __init__(self, c_in, c_out, kernel, demodulate=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, c_out, c_in, kernel, kernel))
        self.scale = 1 / math.sqrt(c_in * kernel ** 2)
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)
        self.demodulate = demodulate
        self.c_out, self.padding = c_out, kernel // 2

    def forward(self, x, w):
        batch, c_in, height, width = x.shape
        style = self.affine(w)                                       # (B, c_in)
        weight = self.scale * self.weight * style[:, None, :, None, None]
        if self.demodulate:
            demod = torch.rsqrt(torch.einsum('boikl,boikl->bo', weight, weight) + 1e-8)
            weight = weight * demod[:, :, None, None, None]
        weight = weight.reshape(batch * self.c_out, c_in, *weight.shape[3:])
        out = F.conv2d(x.reshape(1, batch * c_in, height, width), weight,
                       padding=self.padding, groups=batch)
        return out.view(batch, self.c_out, height, width)


class StyledLayer(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 3)
        self.noise_strength = nn.Parameter(torch.zeros(1, c_out, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, c_out, 1, 1))

    def forward(self, x, w):
        x = self.conv(x, w)
        noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device)
        return F.leaky_relu(x + self.noise_strength * noise + self.bias, 0.2) * math.sqrt(2)


class Generator(nn.Module):
    def __init__(self, channels=16):
        super().__init__()
        self.mapping = Mapping()
        self.const = nn.Parameter(torch.randn(1, channels, 4, 4))
        self.layer4 = StyledLayer(channels, channels)
        self.layer8a = StyledLayer(channels, channels)
        self.layer8b = StyledLayer(channels, channels)
        self.to_rgb = ModulatedConv2d(channels, 3, 1, demodulate=False)

    def forward(self, z):
        w = self.mapping(z)
        x = self.layer4(self.const.expand(z.shape[0], -1, -1, -1), w)
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        x = self.layer8b(self.layer8a(x, w), w)
        return self.to_rgb(x, w)


discriminator = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.LeakyReLU(0.2),
    nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
    nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
    nn.Flatten(), nn.Linear(32 * 2 * 2, 1)).to(device)
generator = Generator().to(device)
g_ema = copy.deepcopy(generator).eval()
g_opt = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.0, 0.99))
d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.0, 0.99))
real_all = make_images(512).to(device)
r1_gamma, ema_beta, batch = 1.0, 0.9, 32


def moment_error(fake):
    return ((fake.mean(dim=(0, 2, 3)) - real_all.mean(dim=(0, 2, 3))).abs().sum()
            + (fake.std(dim=(0, 2, 3)) - real_all.std(dim=(0, 2, 3))).abs().sum()).item()


with torch.no_grad():
    w = generator.mapping(torch.randn(256, z_dim, device=device))
    print(f'mapped w: mean {w.mean().item():.3f}, std {w.std().item():.3f}')
    print(f'moment error before training {moment_error(g_ema(torch.randn(256, z_dim))):.4f}')
step = 0
for epoch in range(1, 7):
    d_total = g_total = r1_total = 0.0
    for i in range(0, len(real_all), 2 * batch):
        real = real_all[i:i + batch]
        # discriminator: softplus(D(fake)) + softplus(-D(real))
        fake = generator(torch.randn(batch, z_dim, device=device)).detach()
        d_loss = F.softplus(discriminator(fake)).mean() + F.softplus(-discriminator(real)).mean()
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        if step % 2 == 0:                                     # lazy R1 on real images
            real_in = real.detach().requires_grad_(True)
            out = discriminator(real_in)
            grad, = torch.autograd.grad(out.sum(), real_in, create_graph=True)
            r1 = grad.pow(2).sum(dim=(1, 2, 3)).mean()
            d_opt.zero_grad()
            (r1_gamma / 2 * r1 * 2).backward()                # times the interval
            d_opt.step()
            r1_total += r1.item()
        # generator: softplus(-D(G(z)))
        g_loss = F.softplus(-discriminator(generator(torch.randn(batch, z_dim)))).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        with torch.no_grad():
            for p_ema, p in zip(g_ema.parameters(), generator.parameters()):
                p_ema.lerp_(p, 1 - ema_beta)
        d_total += d_loss.item()
        g_total += g_loss.item()
        step += 1
    with torch.no_grad():
        error = moment_error(g_ema(torch.randn(256, z_dim, device=device)))
    print(f'epoch {epoch}: d loss {d_total / 8:.4f} | g loss {g_total / 8:.4f} '
          f'| r1 {r1_total / 4:.4f} | ema moment error {error:.4f}')

with torch.no_grad():
    sample = g_ema(torch.randn(4, z_dim, device=device))
    print(f'samples {tuple(sample.shape)}, in [{sample.min().item():.2f}, '
          f'{sample.max().item():.2f}]')
    print('noise strengths:', [round(layer.noise_strength.abs().mean().item(), 4)
                               for layer in (g_ema.layer4, g_ema.layer8a, g_ema.layer8b)])
