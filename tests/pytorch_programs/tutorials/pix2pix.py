"""pix2pix (Isola et al., 2017, "Image-to-Image Translation with Conditional Adversarial
Networks"), written small for the xpnn tests after the CycleGAN/pix2pix repository's
conventions: outlines of rectangles and discs (the "edges") are translated into the filled
shapes, on 16x16 made-up maps in [-1, 1].

The generator is a U-Net: a ``nn.ReflectionPad2d`` + 3x3 stem, ``nn.Conv2d(stride=2)``
downsampling with ``nn.LeakyReLU(0.2, inplace=True)`` and ``nn.InstanceNorm2d`` (PyTorch's
default affine=False, one with affine=True), ``nn.ConvTranspose2d`` upsampling with
``nn.Dropout(0.5)`` in the innermost up-block, skip connections by ``torch.cat`` and a Tanh
output. The discriminator is a PatchGAN on ``torch.cat([edges, image], 1)`` giving a 4x4 map
of logits, trained by ``nn.BCEWithLogitsLoss`` against ``torch.ones_like`` /
``torch.zeros_like`` of that map, with fakes drawn from a CycleGAN-style history pool
(``random.random()``, ``random.randint``, stored ``.clone()``s, ``torch.cat`` of the batch);
the generator's loss adds ``nn.L1Loss`` times lambda = 100. Both nets are initialised by
``model.apply(init_weights)`` (the class name's "Conv" / "Norm"), both use Adam with
betas (0.5, 0.999), and ``set_requires_grad`` freezes the discriminator during the
generator's step. The test L1 is printed with the generator in eval mode under
``torch.no_grad``.

    python tests/pytorch_programs/tutorials/pix2pix.py
"""
import random

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
random.seed(2)
rng = np.random.default_rng(2)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
size = 16


def make_pairs(count):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    edges = np.full((count, 1, size, size), -1.0, dtype=np.float32)
    filled = np.full((count, 1, size, size), -1.0, dtype=np.float32)
    for i in range(count):
        if rng.random() < 0.5:
            x0, y0 = rng.integers(1, 6, size=2)
            w, h = rng.integers(5, 10, size=2)
            inside = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
            border = inside & ((xx == x0) | (xx == x0 + w - 1) | (yy == y0) | (yy == y0 + h - 1))
        else:
            cx, cy = rng.uniform(5, 11, size=2)
            r = rng.uniform(2.5, 4.5)
            dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
            inside = dist <= r
            border = inside & (dist > r - 1.0)
        edges[i, 0][border] = 1.0
        filled[i, 0][inside] = 1.0
    return torch.from_numpy(edges), torch.from_numpy(filled)


train_a, train_b = make_pairs(128)
test_a, test_b = make_pairs(32)
loader = DataLoader(TensorDataset(train_a, train_b), batch_size=16, shuffle=True)
print(f'filled pixels per row of the first target: {(train_b[0, 0] > 0).sum(dim=1)}')
print(f'pairs {tuple(train_a.shape)} -> {tuple(train_b.shape)}, '
      f'edge pixels {(train_a > 0).float().mean().item():.3f}, '
      f'filled pixels {(train_b > 0).float().mean().item():.3f}')


class UNetGenerator(nn.Module):
    def __init__(self, ngf=16):
        super().__init__()
        self.stem = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(1, ngf, 3),
                                  nn.LeakyReLU(0.2, inplace=True))                 # 16x16
        self.down1 = nn.Sequential(nn.Conv2d(ngf, 2 * ngf, 4, stride=2, padding=1),
                                   nn.InstanceNorm2d(2 * ngf),
                                   nn.LeakyReLU(0.2, inplace=True))                 # 8x8
        self.down2 = nn.Sequential(nn.Conv2d(2 * ngf, 4 * ngf, 4, stride=2, padding=1),
                                   nn.InstanceNorm2d(4 * ngf, affine=True),
                                   nn.LeakyReLU(0.2, inplace=True))                 # 4x4
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, stride=2, padding=1),
                                 nn.InstanceNorm2d(2 * ngf), nn.ReLU(True),
                                 nn.Dropout(0.5))                                   # 8x8
        self.up1 = nn.Sequential(nn.ConvTranspose2d(4 * ngf, ngf, 4, stride=2, padding=1),
                                 nn.InstanceNorm2d(ngf), nn.ReLU(True))             # 16x16
        self.out = nn.Sequential(nn.Conv2d(2 * ngf, 1, 3, padding=1), nn.Tanh())

    def forward(self, x):
        s = self.stem(x)
        d1 = self.down1(s)
        d2 = self.down2(d1)
        u2 = self.up2(d2)
        u1 = self.up1(torch.cat([u2, d1], 1))
        return self.out(torch.cat([u1, s], 1))


class PatchDiscriminator(nn.Module):
    def __init__(self, ndf=16):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(2, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1), nn.InstanceNorm2d(2 * ndf),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * ndf, 1, 3, padding=1))

    def forward(self, edges, image):
        return self.model(torch.cat([edges, image], 1))


def init_weights(m):
    classname = m.__class__.__name__
    if hasattr(m, 'weight') and classname.find('Conv') != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
        if m.bias is not None:
            nn.init.constant_(m.bias.data, 0.0)
    elif classname.find('Norm') != -1 and getattr(m, 'weight', None) is not None:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0.0)


def set_requires_grad(nets, requires_grad=False):
    if not isinstance(nets, list):
        nets = [nets]
    for net in nets:
        if net is not None:
            for param in net.parameters():
                param.requires_grad = requires_grad


class ImagePool:
    """A history of generated images: once full, each new image is, with probability 1/2,
    swapped with a stored one (which is returned instead)."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        self.images = []

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            image = image.detach().unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif random.random() > 0.5:
                k = random.randint(0, self.pool_size - 1)
                old = self.images[k].clone()
                self.images[k] = image
                out.append(old)
            else:
                out.append(image)
        return torch.cat(out, 0)


netG = UNetGenerator().to(device)
netD = PatchDiscriminator().to(device)
netG.apply(init_weights)
netD.apply(init_weights)
print(f'generator parameters {sum(p.numel() for p in netG.parameters())}, '
      f'discriminator parameters {sum(p.numel() for p in netD.parameters())}')
affine = [name for name, m in netG.named_modules() if isinstance(m, nn.InstanceNorm2d)
          and m.affine]
print(f'affine instance norms: {affine}')

criterionGAN = nn.BCEWithLogitsLoss()
criterionL1 = nn.L1Loss()
lambda_L1 = 100.0
optimizer_G = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
optimizer_D = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
fake_pool = ImagePool(32)


def test_l1():
    netG.eval()
    with torch.no_grad():
        fake = netG(test_a.to(device))
        l1 = criterionL1(fake, test_b.to(device)).item()
        pixel_acc = ((fake > 0) == (test_b.to(device) > 0)).float().mean().item()
    netG.train()
    return l1, pixel_acc


l1, acc = test_l1()
print(f'untrained | test l1 {l1:.4f} | pixel accuracy {acc:.3f}')
for epoch in range(1, 6):
    sums = {'D': 0.0, 'G_GAN': 0.0, 'G_L1': 0.0}
    for real_a, real_b in loader:
        real_a, real_b = real_a.to(device), real_b.to(device)
        fake_b = netG(real_a)
        # discriminator: real pairs -> 1, (pooled) fake pairs -> 0
        set_requires_grad(netD, True)
        optimizer_D.zero_grad()
        pooled = fake_pool.query(torch.cat([real_a, fake_b], 1))
        pred_fake = netD(pooled[:, :1], pooled[:, 1:])
        loss_D_fake = criterionGAN(pred_fake, torch.zeros_like(pred_fake))
        pred_real = netD(real_a, real_b)
        loss_D_real = criterionGAN(pred_real, torch.ones_like(pred_real))
        loss_D = (loss_D_fake + loss_D_real) * 0.5
        loss_D.backward()
        optimizer_D.step()
        # generator: fool the (frozen) discriminator, stay close to the target in L1
        set_requires_grad(netD, False)
        optimizer_G.zero_grad()
        pred_fake = netD(real_a, fake_b)
        loss_G_GAN = criterionGAN(pred_fake, torch.ones_like(pred_fake))
        loss_G_L1 = criterionL1(fake_b, real_b) * lambda_L1
        loss_G = loss_G_GAN + loss_G_L1
        loss_G.backward()
        optimizer_G.step()
        sums['D'] += loss_D.item()
        sums['G_GAN'] += loss_G_GAN.item()
        sums['G_L1'] += loss_G_L1.item()
    l1, acc = test_l1()
    means = ' | '.join(f'{k} {v / len(loader):.4f}' for k, v in sums.items())
    print(f'epoch {epoch} | {means} | test l1 {l1:.4f} | pixel accuracy {acc:.3f}')

print(f'discriminator frozen after the last step: '
      f'{not any(p.requires_grad for p in netD.parameters())}, pool holds '
      f'{len(fake_pool.images)} images of shape {tuple(fake_pool.images[0].shape)}')
