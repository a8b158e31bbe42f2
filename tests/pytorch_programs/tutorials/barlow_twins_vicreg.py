"""Barlow Twins (Zbontar et al., 2021, "Barlow Twins: Self-Supervised Learning via
Redundancy Reduction") and VICReg (Bardes, Ponce and LeCun, 2022, "VICReg:
Variance-Invariance-Covariance Regularization for Self-Supervised Learning"), written for
the xpnn tests after the papers' pseudo-code, on made-up vectors.

Each sample is one of four class prototypes in an 8-dimensional latent space, mixed into
32 features with noise. Two views of a batch are made by augmentations on tensors: a
per-sample gain (``torch.randn``), additive noise (``torch.randn_like``) and feature
dropout (``F.dropout``). An encoder (Linear, BatchNorm1d, ReLU) and a projector give the
embeddings of both views.

Barlow Twins standardises each embedding dimension over the batch by a
``BatchNorm1d(affine=False)``, forms the cross-correlation matrix of the two views, pushes
its diagonal to one and its off-diagonal entries (taken by the
``flatten()[:-1].view(n - 1, n + 1)[:, 1:]`` trick) to zero. VICReg keeps the views close
by MSE, holds every dimension's standard deviation ``sqrt(var + eps)`` above one by a hinge
and pushes the covariance's off-diagonal entries to zero. One model is trained by each loss
(the second a ``copy.deepcopy`` of the first, untrained), and the frozen encoders are read
out by a zero-initialised linear probe, against the untrained encoder's probe.

    python tests/pytorch_programs/tutorials/barlow_twins_vicreg.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
N_CLASSES, LATENT, FEATURES, HIDDEN, EMBED = 4, 8, 32, 64, 32

prototypes = rng.standard_normal((N_CLASSES, LATENT))
mixing = rng.standard_normal((LATENT, FEATURES)) / np.sqrt(LATENT)


def make_data(count):
    labels = rng.integers(0, N_CLASSES, count)
    latent = prototypes[labels] + 0.8 * rng.standard_normal((count, LATENT))
    x = latent @ mixing + 0.3 * rng.standard_normal((count, FEATURES))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


class SSLNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.BatchNorm1d(HIDDEN),
                                     nn.ReLU(), nn.Linear(HIDDEN, HIDDEN))
        self.projector = nn.Sequential(nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                                       nn.BatchNorm1d(HIDDEN), nn.ReLU(),
                                       nn.Linear(HIDDEN, EMBED))
        # Barlow Twins' standardisation of the embeddings (no learned scale or shift)
        self.bn = nn.BatchNorm1d(EMBED, affine=False)

    def forward(self, x):
        h = self.encoder(x)
        return h, self.projector(h)


def augment(x):
    gain = 1.0 + 0.2 * torch.randn(x.shape[0], 1, device=x.device)
    noisy = gain * x + 0.3 * torch.randn_like(x)
    return F.dropout(noisy, p=0.2, training=True)


def off_diagonal(m):
    n, k = m.shape
    assert n == k
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def barlow_twins_loss(net, z1, z2, lambd=5e-3):
    c = net.bn(z1).T @ net.bn(z2) / z1.shape[0]
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    off_diag = off_diagonal(c).pow(2).sum()
    return on_diag + lambd * off_diag


def vicreg_loss(z1, z2, sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0, eps=1e-4):
    n, d = z1.shape
    invariance = F.mse_loss(z1, z2)
    z1 = z1 - z1.mean(dim=0)
    z2 = z2 - z2.mean(dim=0)
    std1 = torch.sqrt(torch.var(z1, dim=0) + eps)
    std2 = torch.sqrt(torch.var(z2, dim=0) + eps)
    variance = F.relu(1 - std1).mean() / 2 + F.relu(1 - std2).mean() / 2
    cov1 = (z1.T @ z1) / (n - 1)
    cov2 = (z2.T @ z2) / (n - 1)
    covariance = off_diagonal(cov1).pow(2).sum() / d + off_diagonal(cov2).pow(2).sum() / d
    loss = sim_coeff * invariance + std_coeff * variance + cov_coeff * covariance
    return loss, invariance, variance, covariance


def features(net, x):
    net.eval()
    with torch.no_grad():
        h, _ = net(x.to(device))
    net.train()
    return h


def linear_probe(net, steps=150):
    """A zero-initialised logistic regression on the frozen encoder's features."""
    train_h, test_h = features(net, train_x), features(net, test_x)
    mean, std = train_h.mean(dim=0), train_h.std(dim=0) + 1e-6
    train_h, test_h = (train_h - mean) / std, (test_h - mean) / std
    probe = nn.Linear(HIDDEN, N_CLASSES).to(device)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    optimizer = torch.optim.SGD(probe.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        loss = F.cross_entropy(probe(train_h), train_y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        out = probe(test_h)
        test_loss = F.cross_entropy(out, test_y.to(device)).item()
        accuracy = (out.argmax(1) == test_y.to(device)).float().mean().item()
    return test_loss, accuracy


def pretrain(net, name, epochs=6):
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-5)
    loader = DataLoader(TensorDataset(train_x), batch_size=64, shuffle=True)
    for epoch in range(1, epochs + 1):
        total, terms = 0.0, torch.zeros(3)
        for (x,) in loader:
            x = x.to(device)
            _, z1 = net(augment(x))
            _, z2 = net(augment(x))
            if name == 'barlow twins':
                loss = barlow_twins_loss(net, z1, z2)
            else:
                loss, *parts = vicreg_loss(z1, z2)
                terms += torch.stack([p.detach() for p in parts]).cpu()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        extra = ''
        if name == 'vicreg':
            inv, var, cov = (terms / len(loader)).tolist()
            extra = f' | invariance {inv:.4f} | variance {var:.4f} | covariance {cov:.4f}'
        print(f'{name} epoch {epoch} | loss {total / len(loader):.4f}{extra}')


train_x, train_y = make_data(512)
test_x, test_y = make_data(256)
print(f'train {tuple(train_x.shape)}, class counts {torch.bincount(train_y).tolist()}')

# the off-diagonal trick against a boolean mask
m = torch.arange(16.0).view(4, 4)
mask = ~torch.eye(4, dtype=torch.bool)
print(f'off-diagonal trick agrees with the mask: {torch.equal(off_diagonal(m), m[mask])}')

barlow = SSLNet().to(device)
loss, accuracy = linear_probe(barlow)
print(f'untrained encoder | probe test loss {loss:.4f} | accuracy {accuracy:.3f}')
vicreg = copy.deepcopy(barlow)

pretrain(barlow, 'barlow twins')
with torch.no_grad():
    x = test_x[:256].to(device)
    _, z1 = barlow(augment(x))
    _, z2 = barlow(augment(x))
    c = barlow.bn(z1).T @ barlow.bn(z2) / x.shape[0]
    print(f'barlow twins test | mean diagonal {torch.diagonal(c).mean().item():.4f} | '
          f'mean |off-diagonal| {off_diagonal(c).abs().mean().item():.4f}')
loss, accuracy = linear_probe(barlow)
print(f'barlow twins | probe test loss {loss:.4f} | accuracy {accuracy:.3f}')

pretrain(vicreg, 'vicreg')
loss, accuracy = linear_probe(vicreg)
print(f'vicreg | probe test loss {loss:.4f} | accuracy {accuracy:.3f}')
