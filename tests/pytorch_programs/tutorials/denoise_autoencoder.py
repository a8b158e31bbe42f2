"""A convolutional denoising autoencoder (Vincent et al., 2008, with convolutions), written
for the xpnn tests on 384 made-up 1x16x16 images: a few soft discs and bars on a gradient
background, corrupted by Gaussian noise from ``torch.randn_like`` and clamped back to [0, 1].

The encoder halves the resolution twice, once by a stride-2 ``Conv2d`` and once by
``nn.PixelUnshuffle(2)`` (space to depth) before a 1x1 convolution; the decoder goes back by
a ``ConvTranspose2d(stride=2, output_padding=1)`` and by ``nn.Upsample(scale_factor=2,
mode="nearest")``, and a skip branch brings the noisy input through
``F.interpolate(mode="bilinear", align_corners=False)`` from a quarter of its size. The loss
is the per-image ``F.mse_loss(reduction="none").mean(dim=(1, 2, 3))`` averaged over the
batch; the learning rate follows ``ReduceLROnPlateau`` on the validation loss. The PSNR
(``10 * torch.log10(1 / mse)``) of the noisy and the denoised test images is printed.

    python tests/pytorch_programs/tutorials/denoise_autoencoder.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(13)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
NOISE = 0.25


def make_images(n, size=16):
    coords = torch.linspace(0.0, 1.0, size)
    yy, xx = torch.meshgrid(coords, coords, indexing='ij')
    params = torch.sigmoid(2.0 * torch.randn(n, 6))
    background = 0.3 * (params[:, 0, None, None] * xx + params[:, 1, None, None] * yy)
    cy, cx = 0.2 + 0.6 * params[:, 2, None, None], 0.2 + 0.6 * params[:, 3, None, None]
    disc = torch.sigmoid((0.06 - (yy - cy) ** 2 - (xx - cx) ** 2) * 60.0)
    bar = torch.sigmoid((0.08 - (xx - params[:, 4, None, None]).abs()) * 40.0)
    images = (background + 0.7 * disc + 0.4 * bar * params[:, 5, None, None]).clamp(0, 1)
    return images.unsqueeze(1)


def add_noise(clean):
    return (clean + NOISE * torch.randn_like(clean)).clamp(0, 1)


train_clean, val_clean, test_clean = make_images(256), make_images(64), make_images(64)
val_noisy, test_noisy = add_noise(val_clean), add_noise(test_clean)
loader = DataLoader(TensorDataset(train_clean), batch_size=32, shuffle=True)


class DenoisingAE(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv2d(1, width, 3, stride=2, padding=1), nn.ReLU())
        self.down2 = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4 * width, 2 * width, 1),
                                   nn.ReLU())
        self.up1 = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU())
        self.up2 = nn.Sequential(nn.Upsample(scale_factor=2, mode='nearest'),
                                 nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(width + 1, 1, 3, padding=1)

    def forward(self, x):
        h = self.down2(self.down1(x))                 # (N, 2w, 4, 4)
        h = self.up2(self.up1(h))                     # (N, w, 16, 16)
        coarse = F.interpolate(F.avg_pool2d(x, 4), size=x.shape[-2:], mode='bilinear',
                               align_corners=False)
        return torch.sigmoid(self.out(torch.cat([h, coarse], dim=1)))


def per_image_mse(output, target):
    return F.mse_loss(output, target, reduction='none').mean(dim=(1, 2, 3))


def psnr(mse):
    return 10 * torch.log10(1.0 / mse)


model = DenoisingAE().to(device)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=4e-3)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.5,
                                                       patience=1, threshold=0.1)

for epoch in range(1, 13):
    model.train()
    total = 0.0
    for (clean,) in loader:
        clean = clean.to(device)
        noisy = add_noise(clean)
        loss = per_image_mse(model(noisy), clean).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * clean.size(0)
    model.eval()
    with torch.no_grad():
        val_loss = per_image_mse(model(val_noisy.to(device)), val_clean.to(device)).mean()
    scheduler.step(val_loss)
    print(f'epoch {epoch:2d} | train mse {total / len(loader.dataset):.5f} '
          f'| val mse {val_loss.item():.5f} | lr {optimizer.param_groups[0]["lr"]:.4f}')

with torch.no_grad():
    denoised = model(test_noisy.to(device))
    noisy_psnr = psnr(per_image_mse(test_noisy.to(device), test_clean.to(device)))
    clean_psnr = psnr(per_image_mse(denoised, test_clean.to(device)))
print(f'test psnr noisy {noisy_psnr.mean().item():.2f} dB -> denoised '
      f'{clean_psnr.mean().item():.2f} dB, improved on {(clean_psnr > noisy_psnr).sum().item()}'
      f' of {len(test_clean)} images')
print(f'output shape {tuple(denoised.shape)}, range [{denoised.min().item():.3f}, '
      f'{denoised.max().item():.3f}]')
