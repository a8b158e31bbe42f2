"""pytorch/tutorials beginner_source/dcgan_faces_tutorial.py (and pytorch/examples dcgan),
written small for the xpnn tests: a DCGAN on 16x16 random images instead of CelebA.

A Generator of ConvTranspose2d + BatchNorm2d + ReLU layers ending in Tanh, a Discriminator of
Conv2d + LeakyReLU(inplace=True) + BatchNorm2d layers ending in Sigmoid, both initialised by
``weights_init``; BCELoss, Adam with betas (0.5, 0.999), the tutorial's two-step update, and
the trained generator saved and loaded back through its state_dict.

    python tests/pytorch_programs/tutorials/dcgan.py
"""
import math

import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data

torch.manual_seed(999)

nc = 3          # channels of the images
nz = 16         # size of the latent vector
ngf = 16        # generator feature maps
ndf = 16        # discriminator feature maps
num_epochs = 4
batch_size = 16
lr = 0.0002
beta1 = 0.5

# The "dataset": 128 images of soft diagonal stripes with a random phase and colour, in [-1, 1]
n_images = 128
pos = torch.arange(16, dtype=torch.float32)
phase = torch.rand(n_images, 1, 1, 1) * 2 * math.pi
colour = torch.rand(n_images, nc, 1, 1) * 0.5 + 0.5
stripes = torch.sin((pos.view(1, 1, 16, 1) + pos.view(1, 1, 1, 16)) * 0.8 + phase)
images = (stripes * colour).clamp(-1, 1)
dataset = torch.utils.data.TensorDataset(images)
dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)


def weights_init(m):
    """Custom weights initialisation called on netG and netD."""
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution: state size (ngf*2) x 4 x 4
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf) x 8 x 8
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (nc) x 16 x 16
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            # input is (nc) x 16 x 16
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 8 x 8
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 4 x 4
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        return self.main(input)


netG = Generator()
netG.apply(weights_init)
print(netG)
netD = Discriminator()
netD.apply(weights_init)
print(netD)

criterion = nn.BCELoss()
fixed_noise = torch.randn(8, nz, 1, 1)
real_label = 1.
fake_label = 0.
optimizerD = optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))

G_losses = []
D_losses = []
iters = 0
print("Starting Training Loop...")
for epoch in range(num_epochs):
    for i, data in enumerate(dataloader, 0):
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        netD.zero_grad()
        real = data[0]
        b_size = real.size(0)
        label = torch.full((b_size,), real_label, dtype=real.dtype)
        output = netD(real).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.randn(b_size, nz, 1, 1)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()

        if i % 4 == 0:
            print('[%d/%d][%d/%d]\tLoss_D: %.4f\tLoss_G: %.4f\tD(x): %.4f\tD(G(z)): %.4f / %.4f'
                  % (epoch, num_epochs, i, len(dataloader),
                     errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
        G_losses.append(errG.item())
        D_losses.append(errD.item())
        iters += 1

print("first epoch mean Loss_D: %.4f" % (sum(D_losses[:8]) / 8))
print("last epoch mean Loss_D: %.4f" % (sum(D_losses[-8:]) / 8))

# save the generator, load it into a new one, and sample from the fixed noise
torch.save(netG.state_dict(), 'netG.pth')
torch.save(netD.state_dict(), 'netD.pth')
netG2 = Generator()
netG2.load_state_dict(torch.load('netG.pth'))
netG2.eval()
netG.eval()
with torch.no_grad():
    fake = netG2(fixed_noise).detach()
    same = torch.allclose(fake, netG(fixed_noise))
print("samples:", fake.shape, fake.dtype, "in [%.3f, %.3f]" % (fake.min().item(),
                                                             fake.max().item()))
print("reloaded generator gives the same samples:", same)
