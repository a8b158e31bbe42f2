"""A conditional variational autoencoder (Sohn, Lee and Yan, 2015, "Learning Structured
Output Representation using Deep Conditional Generative Models"), written for the xpnn tests
after the PyTorch VAE example, on made-up two-class 8x8 images.

Class 0 images hold a horizontal bar, class 1 a vertical bar, at a random row or column,
with noise, in [0, 1]. The label enters both the encoder and the decoder as
``F.one_hot(labels, num_classes).float()`` concatenated to the flattened image and to the
latent. The posterior sample is drawn by the reparameterisation ``mu + eps * std`` with
``eps = torch.randn_like(std)``; the loss is ``F.binary_cross_entropy(...,
reduction="sum")`` plus the KL term ``-0.5 * torch.sum(1 + logvar - mu.pow(2) -
logvar.exp())``, its weight annealed linearly from 0 to 1 over the first epochs. The closed
form is checked against ``torch.distributions.kl_divergence(Normal(mu, std), Normal(0, 1))``
by ``torch.allclose``. After training, images of each class are sampled from the prior under
``torch.no_grad`` and laid out by a hand-written make_grid (``torch.cat``, ``view``,
``permute``).

    python tests/pytorch_programs/tutorials/cvae.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
rng = np.random.default_rng(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

side, num_classes, latent = 8, 2, 4


def make_images(count):
    labels = rng.integers(0, num_classes, size=count)
    images = 0.1 * rng.random((count, side, side))
    where = rng.integers(1, side - 1, size=count)
    for i, (label, w) in enumerate(zip(labels, where)):
        if label == 0:
            images[i, w, :] = 0.9
        else:
            images[i, :, w] = 0.9
    return (torch.from_numpy(images.astype(np.float32)).unsqueeze(1),
            torch.from_numpy(labels).long())


train_x, train_y = make_images(512)
test_x, test_y = make_images(128)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)
print(f'images {tuple(train_x.shape)} {train_x.dtype}, labels {train_y.bincount().tolist()}')


class CVAE(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(side * side + num_classes, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent + num_classes, hidden), nn.ReLU(),
                                     nn.Linear(hidden, side * side), nn.Sigmoid())

    def encode(self, x, c):
        h = self.encoder(torch.cat([x.view(-1, side * side), c], dim=1))
        return self.mu(h), self.logvar(h)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z, c):
        return self.decoder(torch.cat([z, c], dim=1))

    def forward(self, x, labels):
        c = F.one_hot(labels, num_classes).float()
        mu, logvar = self.encode(x, c)
        z = self.reparameterize(mu, logvar)
        return self.decode(z, c), mu, logvar


def loss_terms(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x.view(-1, side * side), reduction='sum')
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce, kld


def make_grid(images, nrow):
    # (N, 1, H, W) -> one (N / nrow * H, nrow * (W + 1)) image, a white column after each
    n, _, h, w = images.shape
    pad = torch.ones(n, 1, h, 1, device=images.device)
    images = torch.cat([images, pad], dim=3)
    rows = images.view(n // nrow, nrow, h, w + 1).permute(0, 2, 1, 3)
    return rows.reshape(n // nrow * h, nrow * (w + 1))


model = CVAE().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
print(model)


def evaluate():
    model.eval()
    with torch.no_grad():
        x, y = test_x.to(device), test_y.to(device)
        recon, mu, logvar = model(x, y)
        bce, kld = loss_terms(recon, x, mu, logvar)
    model.train()
    return bce.item() / len(x), kld.item() / len(x)


bce, kld = evaluate()
print(f'untrained | test recon {bce:.3f} | test kl {kld:.3f} | test elbo {bce + kld:.3f}')
epochs, warmup_steps, step = 8, 48, 0
for epoch in range(1, epochs + 1):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        beta = min(1.0, step / warmup_steps)
        recon, mu, logvar = model(x, y)
        bce, kld = loss_terms(recon, x, mu, logvar)
        loss = (bce + beta * kld) / len(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        step += 1
    bce, kld = evaluate()
    print(f'epoch {epoch} | beta {beta:.2f} | train loss {total / len(loader):.3f} | '
          f'test recon {bce:.3f} | test kl {kld:.3f} | test elbo {bce + kld:.3f}')

# the closed-form KL against torch.distributions
with torch.no_grad():
    c = F.one_hot(test_y[:16].to(device), num_classes).float()
    mu, logvar = model.encode(test_x[:16].to(device), c)
    std = torch.exp(0.5 * logvar)
    closed = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    library = kl_divergence(Normal(mu, std), Normal(0, 1)).sum()
print(f'kl closed form {closed.item():.4f} | kl_divergence {library.item():.4f} | '
      f'allclose {torch.allclose(closed, library, rtol=1e-4)}')

# class-conditional samples from the prior
model.eval()
with torch.no_grad():
    labels = torch.arange(num_classes, device=device).repeat_interleave(4)
    z = torch.randn(len(labels), latent, device=device)
    samples = model.decode(z, F.one_hot(labels, num_classes).float()).view(-1, 1, side, side)
grid = make_grid(samples, nrow=4)
print(f'grid {tuple(grid.shape)} {grid.dtype}, in [{grid.min().item():.3f}, '
      f'{grid.max().item():.3f}]')
rows_peak = samples.squeeze(1).mean(dim=2).amax(dim=1)
cols_peak = samples.squeeze(1).mean(dim=1).amax(dim=1)
horizontal = (rows_peak > cols_peak).long()
print(f'samples drawn as horizontal bars: {horizontal.tolist()} (labels {labels.tolist()})')
print(f'class-consistent samples: {(horizontal == (labels == 0).long()).sum().item()} of '
      f'{len(labels)}')
