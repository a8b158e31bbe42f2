"""Contrastive self-supervised learning after SimCLR (Chen et al., 2020), written for the
xpnn tests, on 320 made-up 1x12x12 images of 4 patterns (a horizontal bar, a vertical bar,
a diagonal, a cross) at random places under noise.

Each batch is seen as two views, each a random horizontal flip (torch.flip under
torch.where), a random shift (torch.roll) and Gaussian noise; a small CNN encoder and an MLP
projection head are trained without labels under the NT-Xent loss (F.normalize, the cosine
similarity matrix over both views, its diagonal masked with ``masked_fill(-inf)``,
F.cross_entropy towards the other view). Then a linear probe on the frozen encoder's
features, trained on the labels of 256 images; accuracy on the other 64.

    python tests/pytorch_programs/tutorials/simclr.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = random.Random(4)

n_images, n_train, size = 320, 256, 12
labels = torch.arange(n_images) % 4
images = torch.zeros(n_images, 1, size, size)
for k, c in enumerate(labels.tolist()):
    r, q = rng.randrange(2, size - 6), rng.randrange(2, size - 6)
    if c == 0:
        images[k, 0, r + 2, q:q + 5] = 1.0
    elif c == 1:
        images[k, 0, r:r + 5, q + 2] = 1.0
    elif c == 2:
        for d in range(5):
            images[k, 0, r + d, q + d] = 1.0
    else:
        images[k, 0, r + 2, q:q + 5] = 1.0
        images[k, 0, r:r + 5, q + 2] = 1.0
images += 0.2 * torch.randn(n_images, 1, size, size)
loader = DataLoader(TensorDataset(images[:n_train]), batch_size=64, shuffle=True, drop_last=True)


def augment(x):
    flip = torch.tensor([rng.random() < 0.5 for _ in range(x.shape[0])])
    x = torch.where(flip.view(-1, 1, 1, 1), torch.flip(x, dims=[3]), x)
    x = torch.roll(x, shifts=(rng.randint(-2, 2), rng.randint(-2, 2)), dims=(2, 3))
    return x + 0.2 * torch.randn_like(x)


class SimCLR(nn.Module):
    def __init__(self, feature_dim=32, projection_dim=16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, feature_dim, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.projector = nn.Sequential(nn.Linear(feature_dim, feature_dim), nn.ReLU(),
                                       nn.Linear(feature_dim, projection_dim))

    def forward(self, x):
        return self.projector(self.encoder(x))


def nt_xent(z1, z2, temperature=0.2):
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float('-inf'))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


model = SimCLR()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(1, 9):
    model.train()
    total = 0.0
    for (xb,) in loader:
        loss = nt_xent(model(augment(xb)), model(augment(xb)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f'epoch {epoch} | nt-xent loss {total / len(loader):.4f}')

model.eval()
with torch.no_grad():
    features = model.encoder(images)
print('features:', features.shape, f'mean norm {features.norm(dim=1).mean().item():.3f}')

probe = nn.Linear(features.shape[1], 4)
probe_optimizer = torch.optim.Adam(probe.parameters(), lr=0.05)
for step in range(1, 151):
    probe_optimizer.zero_grad()
    probe_loss = F.cross_entropy(probe(features[:n_train]), labels[:n_train])
    probe_loss.backward()
    probe_optimizer.step()
    if step % 50 == 0:
        with torch.no_grad():
            correct = (probe(features[n_train:]).argmax(dim=1) == labels[n_train:]).sum().item()
        print(f'probe step {step} | loss {probe_loss.item():.4f} | '
              f'test accuracy {correct / (n_images - n_train):.3f}')
