"""A learned wavelet-shrinkage denoiser (after Donoho and Johnstone's wavelet shrinkage,
with cycle spinning after Coifman and Donoho, 1995) on made-up piecewise-smooth images.

A 2-D Haar transform is ``F.conv2d(stride=2, groups=C)`` with four fixed 2x2 filters (LL,
LH, HL, HH) held by ``register_buffer``; its inverse is ``F.conv_transpose2d`` with the same
filters (the transform is orthonormal). The LL band is split again for a multi-level
decomposition. Each detail subband of each level has a learned threshold, and shrinkage is
soft: sign(d) * relu(|d| - t). Cycle spinning averages the denoised image over a few
``torch.roll`` shifts. Trained by Adam on an MSE against the clean images; PSNR per epoch.

    python tests/pytorch_programs/tutorials/haar_wavelet_denoiser.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
rng = np.random.default_rng(11)
S, C, SIGMA = 32, 1, 0.2


def make_images(count):
    """Sums of a few flat rectangles and a smooth ramp, in [0, 1]."""
    yy, xx = np.mgrid[0:S, 0:S] / S
    x = np.zeros((count, C, S, S))
    for i in range(count):
        a, b = rng.uniform(-0.3, 0.3, 2)
        x[i, 0] = 0.4 + a * xx + b * yy
        for _ in range(3):
            r0, c0 = rng.integers(0, S - 8, 2)
            h, w = rng.integers(4, 12, 2)
            x[i, 0, r0:r0 + h, c0:c0 + w] += rng.uniform(-0.4, 0.4)
    clean = np.clip(x, 0.0, 1.0)
    noisy = clean + SIGMA * rng.standard_normal(clean.shape)
    return (torch.tensor(noisy, dtype=torch.float32),
            torch.tensor(clean, dtype=torch.float32))


class HaarDenoiser(nn.Module):
    def __init__(self, channels, levels=2, shifts=((0, 0), (1, 0), (0, 1), (1, 1))):
        super().__init__()
        self.channels, self.levels, self.shifts = channels, levels, shifts
        lo = torch.tensor([1.0, 1.0]) / math.sqrt(2.0)
        hi = torch.tensor([1.0, -1.0]) / math.sqrt(2.0)
        bank = torch.stack([torch.outer(lo, lo), torch.outer(hi, lo),
                            torch.outer(lo, hi), torch.outer(hi, hi)])   # (4, 2, 2)
        self.register_buffer('filters', bank.unsqueeze(1).repeat(channels, 1, 1, 1))
        # one threshold per level and detail subband (LH, HL, HH), kept positive by softplus
        self.raw_threshold = nn.Parameter(torch.full((levels, 3), -2.0))

    def analysis(self, x):
        out = F.conv2d(x, self.filters, stride=2, groups=self.channels)
        n, _, h, w = out.shape
        out = out.view(n, self.channels, 4, h, w)
        return out[:, :, 0], out[:, :, 1:]

    def synthesis(self, low, details):
        n, c, h, w = low.shape
        bands = torch.cat([low.unsqueeze(2), details], dim=2).view(n, 4 * c, h, w)
        return F.conv_transpose2d(bands, self.filters, stride=2, groups=self.channels)

    def shrink(self, d, level):
        t = F.softplus(self.raw_threshold[level]).view(1, 1, 3, 1, 1)
        return torch.sign(d) * F.relu(d.abs() - t)

    def denoise_once(self, x):
        low, kept = x, []
        for level in range(self.levels):
            low, details = self.analysis(low)
            kept.append(self.shrink(details, level))
        for level in reversed(range(self.levels)):
            low = self.synthesis(low, kept[level])
        return low

    def forward(self, x):
        outs = []
        for dy, dx in self.shifts:
            shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            outs.append(torch.roll(self.denoise_once(shifted), shifts=(-dy, -dx), dims=(2, 3)))
        return torch.stack(outs).mean(dim=0)


def psnr(estimate, clean):
    mse = F.mse_loss(estimate, clean)
    return (10 * torch.log10(1.0 / mse)).item()


train_x, train_y = make_images(64)
test_x, test_y = make_images(32)
model = HaarDenoiser(C)

with torch.no_grad():
    low, details = model.analysis(test_x)
    back = model.synthesis(low, details)
    energy = low.pow(2).sum() + details.pow(2).sum()
    print(f'perfect reconstruction: {torch.allclose(back, test_x, atol=1e-5)} | '
          f'energy kept: {torch.allclose(energy, test_x.pow(2).sum(), rtol=1e-4)}')
    print(f'noisy test PSNR {psnr(test_x, test_y):.3f} dB | untrained PSNR '
          f'{psnr(model(test_x), test_y):.3f} dB')

optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=16, shuffle=True)
for epoch in range(1, 9):
    total = 0.0
    for noisy, clean in loader:
        loss = F.mse_loss(model(noisy), clean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_mse = F.mse_loss(model(test_x), test_y).item()
        test_psnr = psnr(model(test_x), test_y)
    print(f'epoch {epoch} | train mse {total / len(loader):.5f} | test mse {test_mse:.5f} | '
          f'test PSNR {test_psnr:.3f} dB')

thresholds = F.softplus(model.raw_threshold).detach()
print('learned thresholds per level (LH, HL, HH):',
      [[round(v, 3) for v in row] for row in thresholds.tolist()])
