"""A conditional GAN with a spectrally normalised discriminator, written small for the xpnn
tests after Mirza and Osindero's conditional GAN (2014) and Miyato et al.'s spectral
normalization (2018) with the hinge loss of SNGAN, on 2-D data: four classes, each a mixture
of two Gaussian blobs.

The generator embeds the class label (``nn.Embedding``) and concatenates it to the noise; the
discriminator embeds the label too and concatenates it to the point, and every Linear of the
discriminator is wrapped in ``torch.nn.utils.parametrizations.spectral_norm`` (one power
iteration per training forward). Hinge loss: the discriminator minimises
``F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()``, the generator ``-d_fake.mean()``;
both by ``Adam(lr=2e-3, betas=(0.0, 0.9))``, for 10 epochs. At the end each class's sample
mean and spread are printed against the true ones, with the largest singular values of the
discriminator's normalised weights.

    python tests/pytorch_programs/tutorials/cgan_spectral.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)
device = 'cuda' if torch.cuda.is_available() else 'cpu'
NUM_CLASSES, NOISE = 4, 8

centres = torch.tensor([[[2.0, 2.0], [2.6, 1.4]],
                        [[-2.0, 2.0], [-1.4, 2.6]],
                        [[-2.0, -2.0], [-2.6, -1.4]],
                        [[2.0, -2.0], [1.4, -2.6]]])


def sample_data(n):
    labels = torch.randint(NUM_CLASSES, (n,))
    blob = torch.randint(2, (n,))
    points = centres[labels, blob] + 0.3 * torch.randn(n, 2)
    return points, labels


class Generator(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, 8)
        self.net = nn.Sequential(nn.Linear(NOISE + 8, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 2))

    def forward(self, z, labels):
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


class Discriminator(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, 8)
        self.net = nn.Sequential(spectral_norm(nn.Linear(2 + 8, hidden)), nn.LeakyReLU(0.2),
                                 spectral_norm(nn.Linear(hidden, hidden)), nn.LeakyReLU(0.2),
                                 spectral_norm(nn.Linear(hidden, 1)))

    def forward(self, x, labels):
        return self.net(torch.cat([x, self.embed(labels)], dim=1)).squeeze(1)


points, labels = sample_data(2048)
loader = DataLoader(TensorDataset(points, labels), batch_size=128, shuffle=True, drop_last=True)
G, D = Generator().to(device), Discriminator().to(device)
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.0, 0.9))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.9))
print(D)
print(f'discriminator parameters: {sorted(name for name, _ in D.named_parameters())[:4]}')

fixed_labels = torch.arange(NUM_CLASSES).repeat_interleave(250).to(device)
fixed_noise = torch.randn(len(fixed_labels), NOISE, device=device)


def class_report():
    G.eval()
    with torch.no_grad():
        fake = G(fixed_noise, fixed_labels)
    G.train()
    error = 0.0
    lines = []
    for c in range(NUM_CLASSES):
        mean = fake[fixed_labels == c].mean(dim=0)
        true = centres[c].mean(dim=0).to(device)
        error += torch.linalg.vector_norm(mean - true).item()
        lines.append(f'class {c}: sample mean ({mean[0].item():+.2f}, {mean[1].item():+.2f}) '
                     f'true ({true[0].item():+.2f}, {true[1].item():+.2f}) '
                     f'std {fake[fixed_labels == c].std(dim=0).mean().item():.3f}')
    return error / NUM_CLASSES, lines


for epoch in range(1, 11):
    d_total = g_total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        z = torch.randn(x.size(0), NOISE, device=device)
        fake = G(z, y)
        d_real, d_fake = D(x, y), D(fake.detach(), y)
        d_loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()

        g_loss = -D(fake, y).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        d_total += d_loss.item()
        g_total += g_loss.item()
    error, _ = class_report()
    print(f'epoch {epoch} | d loss {d_total / len(loader):.4f} '
          f'| g loss {g_total / len(loader):.4f} | mean error {error:.4f}')

error, lines = class_report()
print('\n'.join(lines))
D.eval()
with torch.no_grad():
    sigmas = [torch.linalg.matrix_norm(m.weight, ord=2).item()
              for m in D.net if isinstance(m, nn.Linear)]
print(f'largest singular values of the normalised weights: '
      f'{", ".join(f"{s:.3f}" for s in sigmas)}')
