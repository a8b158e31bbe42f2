"""Patch-based 2x super-resolution with ``F.unfold`` / ``F.fold``, written for the xpnn tests
after the classic patch-wise image-restoration recipe (overlapping patches restored one by
one, then averaged back), on made-up 16x16 images.

The low-resolution inputs are the images brought down by ``F.interpolate(mode="area")``.
Three fixed upsamplers are the baselines: ``F.interpolate`` in mode "nearest-exact", mode
"bicubic" (``align_corners=False``) and ``nn.Upsample(scale_factor=2, mode="bilinear")``.
The model starts from the bicubic image and adds two residuals: a per-patch MLP on
overlapping 4x4 patches cut by ``F.unfold(stride=2, padding=1)`` and put back by ``F.fold``,
each pixel divided by how many patches cover it (``F.fold`` of ``F.unfold`` of ones), and a
small conv branch at half resolution between ``nn.PixelUnshuffle(2)`` and
``nn.PixelShuffle(2)``. Training is by Adam under an L1 loss; the test PSNR, 10 * log10(1 /
MSE), is printed per epoch beside the baselines'.

    python tests/pytorch_programs/tutorials/fold_unfold_superres.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(9)
rng = np.random.default_rng(9)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
S, PATCH, STRIDE = 16, 4, 2


def make_images(count):
    """Smooth gradients, a few soft blobs and a stripe pattern, in [0, 1]."""
    yy, xx = np.meshgrid(np.linspace(0, 1, S), np.linspace(0, 1, S), indexing="ij")
    images = np.empty((count, 1, S, S))
    for i in range(count):
        a, b = rng.uniform(-0.5, 0.5, 2)
        img = 0.5 + a * (xx - 0.5) + b * (yy - 0.5)
        for _ in range(3):
            cy, cx = rng.uniform(0.1, 0.9, 2)
            img += rng.uniform(-0.4, 0.4) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02)
        freq, phase = rng.uniform(3, 7), rng.uniform(0, 2 * np.pi)
        img += 0.15 * np.sin(2 * np.pi * freq * (xx + yy) / 2 + phase)
        images[i, 0] = np.clip(img, 0, 1)
    return torch.tensor(images, dtype=torch.float32, device=device)


def psnr(pred, target):
    return 10 * torch.log10(1.0 / F.mse_loss(pred.clamp(0, 1), target))


class PatchSR(nn.Module):
    def __init__(self):
        super().__init__()
        dim = PATCH * PATCH
        self.patch_mlp = nn.Sequential(nn.Linear(dim, 64), nn.GELU(), nn.Linear(64, dim))
        self.branch = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4, 16, 3, padding=1),
                                    nn.ReLU(), nn.Conv2d(16, 4, 3, padding=1),
                                    nn.PixelShuffle(2))

    def forward(self, low):
        up = F.interpolate(low, scale_factor=2, mode="bicubic", align_corners=False)
        patches = F.unfold(up, PATCH, stride=STRIDE, padding=1)        # (N, 16, L)
        restored = self.patch_mlp(patches.transpose(1, 2)).transpose(1, 2)
        size = up.shape[-2:]
        summed = F.fold(restored, size, PATCH, stride=STRIDE, padding=1)
        coverage = F.fold(F.unfold(torch.ones_like(up), PATCH, stride=STRIDE, padding=1),
                          size, PATCH, stride=STRIDE, padding=1)
        return up + summed / coverage + self.branch(up)


train_hr, test_hr = make_images(256), make_images(64)
train_lr = F.interpolate(train_hr, scale_factor=0.5, mode="area")
test_lr = F.interpolate(test_hr, scale_factor=0.5, mode="area")

with torch.no_grad():
    nearest = F.interpolate(test_lr, scale_factor=2, mode="nearest-exact")
    bicubic = F.interpolate(test_lr, scale_factor=2, mode="bicubic", align_corners=False)
    bilinear = nn.Upsample(scale_factor=2, mode="bilinear")(test_lr)
    print(f"baselines | nearest-exact {psnr(nearest, test_hr).item():.3f} dB | "
          f"bilinear {psnr(bilinear, test_hr).item():.3f} dB | "
          f"bicubic {psnr(bicubic, test_hr).item():.3f} dB")

    ones = torch.ones(1, 1, S, S, device=device)
    cover = F.fold(F.unfold(ones, PATCH, stride=STRIDE, padding=1), (S, S), PATCH,
                   stride=STRIDE, padding=1)
    print(f"patches per pixel: min {cover.min().item():.0f}, max {cover.max().item():.0f}")
    round_trip = F.fold(F.unfold(test_hr, PATCH, stride=STRIDE, padding=1), (S, S), PATCH,
                        stride=STRIDE, padding=1) / cover
    print(f"fold(unfold(x)) / coverage == x: {torch.allclose(round_trip, test_hr, atol=1e-6)}")

model = PatchSR().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
loader = DataLoader(TensorDataset(train_lr, train_hr), batch_size=32, shuffle=True)
for epoch in range(1, 9):
    model.train()
    total = 0.0
    for low, high in loader:
        optimizer.zero_grad()
        loss = F.l1_loss(model(low), high)
        loss.backward()
        optimizer.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        pred = model(test_lr)
        test_l1 = F.l1_loss(pred, test_hr).item()
        test_psnr = psnr(pred, test_hr).item()
    print(f"epoch {epoch} | train L1 {total / len(loader):.5f} | test L1 {test_l1:.5f} | "
          f"test PSNR {test_psnr:.3f} dB")
