"""A miniature CycleGAN (Zhu et al., 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks"), written for the xpnn tests after the authors'
PyTorch code, on made-up 16x16 images: domain A holds soft horizontal stripes, domain B the
same scenes as vertical stripes (unpaired: drawn independently).

Two ResNet-style generators (``nn.ReflectionPad2d`` + 7x7 conv, a strided conv down, one
residual block, ``nn.ConvTranspose2d(..., stride=2, padding=1, output_padding=1)`` up,
``nn.InstanceNorm2d`` throughout, ``Tanh`` out) and two PatchGAN discriminators
(``LeakyReLU(0.2)``, InstanceNorm2d). One ``Adam`` holds both generators' parameters by
``itertools.chain``, another both discriminators'. The generators minimise the LSGAN loss
(``nn.MSELoss`` against ones) plus cycle and identity ``nn.L1Loss`` terms with the
discriminators frozen by ``set_requires_grad``; the discriminators see fakes drawn from an
image pool that, once full, swaps a stored image for the new one half the time
(``torch.rand``). Both learning rates decay linearly to zero by ``LambdaLR``. Printed per
epoch: the losses and the translation error A -> B against the paired ground truth.

    python tests/pytorch_programs/tutorials/cyclegan_mini.py
"""
import itertools
import random

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(5)
random.seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

size = 16


def stripes(count):
    freq = rng.uniform(0.6, 1.2, (count, 1, 1))
    phase = rng.uniform(0, 6.28, (count, 1, 1))
    grid = np.arange(size)[None, :, None] * np.ones((1, 1, size))
    a = np.sin(freq * grid + phase)                        # horizontal stripes
    b = np.sin(freq * grid.transpose(0, 2, 1) + phase)     # the same scene, vertical
    to = lambda v: torch.from_numpy(v[:, None].astype(np.float32)).to(device)
    return to(a), to(b)


train_a, _ = stripes(64)
_, train_b = stripes(64)
test_a, test_b = stripes(16)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x):
        return x + self.block(x)


def generator(c=8):
    return nn.Sequential(
        nn.ReflectionPad2d(3), nn.Conv2d(1, c, 7), nn.InstanceNorm2d(c), nn.ReLU(True),
        nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU(True),
        ResBlock(2 * c),
        nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1),
        nn.InstanceNorm2d(c), nn.ReLU(True),
        nn.ReflectionPad2d(3), nn.Conv2d(c, 1, 7), nn.Tanh())


def discriminator(c=8):
    return nn.Sequential(
        nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.InstanceNorm2d(2 * c),
        nn.LeakyReLU(0.2, True), nn.Conv2d(2 * c, 1, 3, padding=1))


def set_requires_grad(nets, requires_grad=False):
    for net in nets:
        for param in net.parameters():
            param.requires_grad = requires_grad


class ImagePool:
    def __init__(self, pool_size):
        self.pool_size, self.images = pool_size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif torch.rand(1).item() > 0.5:
                i = random.randint(0, self.pool_size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


G_AB, G_BA = generator().to(device), generator().to(device)
D_A, D_B = discriminator().to(device), discriminator().to(device)
epochs, batch = 6, 8
steps = len(train_a) // batch
opt_G = torch.optim.Adam(itertools.chain(G_AB.parameters(), G_BA.parameters()), lr=2e-3,
                         betas=(0.5, 0.999))
opt_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=2e-3,
                         betas=(0.5, 0.999))
decay = lambda epoch: 1.0 - max(0, epoch - epochs // 2) / float(epochs // 2 + 1)
sched_G = torch.optim.lr_scheduler.LambdaLR(opt_G, lr_lambda=decay)
sched_D = torch.optim.lr_scheduler.LambdaLR(opt_D, lr_lambda=decay)
gan_loss, l1 = nn.MSELoss(), nn.L1Loss()
pool_A, pool_B = ImagePool(16), ImagePool(16)
lambda_cyc, lambda_idt = 10.0, 5.0


def d_loss(D, real, fake):
    pred_real, pred_fake = D(real), D(fake.detach())
    return 0.5 * (gan_loss(pred_real, torch.ones_like(pred_real))
                  + gan_loss(pred_fake, torch.zeros_like(pred_fake)))


def translation_error():
    G_AB.eval()
    with torch.no_grad():
        err = l1(G_AB(test_a), test_b).item()
    G_AB.train()
    return err


print(f'untrained | test A->B l1 {translation_error():.4f}')
for epoch in range(epochs):
    perm_a, perm_b = torch.randperm(len(train_a)), torch.randperm(len(train_b))
    totals = np.zeros(4)
    for step in range(steps):
        real_a = train_a[perm_a[step * batch:(step + 1) * batch]]
        real_b = train_b[perm_b[step * batch:(step + 1) * batch]]
        # generators, with the discriminators frozen
        set_requires_grad([D_A, D_B], False)
        opt_G.zero_grad()
        fake_b, fake_a = G_AB(real_a), G_BA(real_b)
        pred_b, pred_a = D_B(fake_b), D_A(fake_a)
        loss_gan = gan_loss(pred_b, torch.ones_like(pred_b)) + gan_loss(pred_a, torch.ones_like(pred_a))
        loss_cyc = l1(G_BA(fake_b), real_a) + l1(G_AB(fake_a), real_b)
        loss_idt = l1(G_AB(real_b), real_b) + l1(G_BA(real_a), real_a)
        loss_G = loss_gan + lambda_cyc * loss_cyc + lambda_idt * loss_idt
        loss_G.backward()
        opt_G.step()
        # discriminators, on pooled fakes
        set_requires_grad([D_A, D_B], True)
        opt_D.zero_grad()
        loss_D = d_loss(D_A, real_a, pool_A.query(fake_a)) + d_loss(D_B, real_b, pool_B.query(fake_b))
        loss_D.backward()
        opt_D.step()
        totals += [loss_G.item(), loss_gan.item(), loss_cyc.item(), loss_D.item()]
    sched_G.step()
    sched_D.step()
    totals /= steps
    print(f'epoch {epoch} | lr {sched_G.get_last_lr()[0]:.5f} | loss_G {totals[0]:.4f} | gan '
          f'{totals[1]:.4f} | cycle {totals[2]:.4f} | loss_D {totals[3]:.4f} | test A->B l1 '
          f'{translation_error():.4f}')
