"""Single-image super-resolution with an efficient sub-pixel convolutional network (ESPCN,
Shi et al., 2016), written for the xpnn tests after pytorch/examples' super_resolution:
made-up grey images of soft shapes crossed by sharp edges, shrunk two times.

The high-resolution images (24 x 24) are built from random parameters; the low-resolution
inputs come from ``F.avg_pool2d`` (training) and ``F.interpolate(mode="bilinear",
antialias=False)`` (test; at a factor of 1/2 the same 2x2 average, as checked). The network
works at the low resolution (5x5 then two 3x3 convolutions, tanh) and its last layer makes
r^2 channels that ``nn.PixelShuffle`` turns into an image r times larger, added to the
bicubic upsampling of the input (a global residual whose last layer starts at zero, so
the untrained model is the baseline). ``nn.PixelUnshuffle`` undoes the shuffle in a check. Adam with ``MultiStepLR``;
the PSNR of the network and of a bicubic ``F.interpolate`` are printed side by side, and
the trained weights go through a state_dict in a ``BytesIO``.

    python tests/pytorch_programs/tutorials/espcn.py
"""
import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
upscale, size = 2, 24


def make_images(n):
    """Soft blobs plus two sharp edges per image, values in [0, 1]."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size),
                            indexing='ij')
    p = torch.randn(n, 8, 1, 1)
    blob = torch.exp(-((xs - 0.4 * p[:, 0]) ** 2 + (ys - 0.4 * p[:, 1]) ** 2)
                     / (0.2 + 0.1 * p[:, 2].abs()))
    edge1 = torch.sigmoid(150 * (xs * torch.cos(p[:, 3]) + ys * torch.sin(p[:, 3])
                                - 0.3 * p[:, 4]))
    edge2 = torch.sigmoid(150 * (xs * torch.cos(p[:, 5]) - ys * torch.sin(p[:, 5])
                                - 0.3 * p[:, 6]))
    img = 0.45 * blob + 0.3 * edge1 + 0.25 * edge2 * torch.sigmoid(p[:, 7])
    return img.unsqueeze(1).clamp(0, 1)


hr_train, hr_test = make_images(384), make_images(96)
lr_train = F.avg_pool2d(hr_train, upscale)
lr_test = F.interpolate(hr_test, scale_factor=1 / upscale, mode='bilinear',
                        align_corners=False, antialias=False)
print(f'high resolution {tuple(hr_train.shape)}, low resolution {tuple(lr_train.shape)}, '
      f'bilinear halving = 2x2 average: {torch.allclose(lr_test, F.avg_pool2d(hr_test, 2))}')
train_loader = DataLoader(TensorDataset(lr_train, hr_train), batch_size=32, shuffle=True)


class ESPCN(nn.Module):
    def __init__(self, upscale_factor, channels=1):
        super().__init__()
        self.upscale_factor = upscale_factor
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=5, padding=2), nn.Tanh(),
            nn.Conv2d(32, 16, kernel_size=3, padding=1), nn.Tanh(),
            nn.Conv2d(16, channels * upscale_factor ** 2, kernel_size=3, padding=1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        # the residual starts at zero: the untrained model is the bicubic upsampling
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x):
        base = F.interpolate(x, scale_factor=self.upscale_factor, mode='bicubic',
                             align_corners=False)
        return base + self.pixel_shuffle(self.body(x))


def psnr(pred, target):
    mse = ((pred.clamp(0, 1) - target) ** 2).flatten(1).mean(dim=1)
    return (10 * torch.log10(1.0 / mse)).mean().item()


model = ESPCN(upscale).to(device)
print(model)
features = model.body(lr_test[:2].to(device))
print('pixel shuffle', tuple(features.shape), '->', tuple(model.pixel_shuffle(features).shape),
      '| unshuffle restores it:',
      torch.equal(nn.PixelUnshuffle(upscale)(model.pixel_shuffle(features)), features))
bicubic = F.interpolate(lr_test, scale_factor=upscale, mode='bicubic', align_corners=False)
print(f'bicubic baseline: test psnr {psnr(bicubic, hr_test):.2f} dB')

optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[5, 8], gamma=0.3)
criterion = nn.MSELoss()

for epoch in range(1, 11):
    model.train()
    total = 0.0
    for lr_img, hr_img in train_loader:
        lr_img, hr_img = lr_img.to(device), hr_img.to(device)
        optimizer.zero_grad()
        loss = criterion(model(lr_img), hr_img)
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()
    if epoch % 2 == 0:
        model.eval()
        with torch.no_grad():
            sr = model(lr_test.to(device))
            test_loss = criterion(sr, hr_test.to(device)).item()
        print(f'epoch {epoch:2d} | lr {scheduler.get_last_lr()[0]:.5f} | train loss '
              f'{total / len(train_loader):.5f} | test loss {test_loss:.5f} | '
              f'test psnr {psnr(sr, hr_test):.2f} dB (bicubic {psnr(bicubic, hr_test):.2f} dB)')

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
restored = ESPCN(upscale).to(device)
restored.load_state_dict(torch.load(buffer))
restored.eval()
with torch.no_grad():
    again = psnr(restored(lr_test.to(device)), hr_test)
print(f'restored model: test psnr {again:.2f} dB, {math.log2(upscale) * 2:.0f} extra channel '
      f'bits per pixel packed by the shuffle')
