"""Spectral clustering with a learned affinity (after Ng, Jordan and Weiss, 2001, "On
Spectral Clustering", with the affinity learned end to end through the eigendecomposition
as in Bach and Jordan, 2004) on made-up sets of points in labelled clusters.

An MLP embeds each point; a Gaussian kernel of ``torch.cdist`` distances gives the
affinity W; the symmetric normalised Laplacian is I - D^-1/2 W D^-1/2 (``torch.diag`` of the
degrees' ``rsqrt``); ``torch.linalg.eigh`` gives its lowest k eigenvectors, rows
normalised to unit length. The loss pulls the spectral embeddings of same-label pairs
together (and pushes other pairs apart), its gradient flowing through eigh (the lowest k
eigenvalues sit well apart from the rest). Under ``no_grad`` a few k-means iterations
(argmin of distances to the centres) assign clusters, scored by the best matching of
clusters to labels.

    python tests/pytorch_programs/tutorials/spectral_clustering_eigh.py
"""
import itertools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
K, N, D = 3, 48, 6


def make_set():
    """Three elongated clusters in D dims, most of their spread along a nuisance axis."""
    labels = np.repeat(np.arange(K), N // K)
    centres = rng.standard_normal((K, D)) * 1.0
    x = centres[labels] + rng.standard_normal((N, D)) * 0.4
    x[:, 0] += rng.standard_normal(N) * 3.0
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


def spectral_embedding(z):
    # float64: in float32 the bulk of eigenvalues near 1 tie exactly, and eigh's backward
    # divides by the eigenvalue differences
    z = z.double()
    dist = torch.cdist(z, z)
    sigma = dist.detach().median()            # the kernel width follows the embedding's scale
    w = torch.exp(-dist.pow(2) / (2 * sigma ** 2))
    d_inv_sqrt = torch.diag(torch.rsqrt(w.sum(dim=1)))
    laplacian = torch.eye(z.shape[0], dtype=torch.float64) - d_inv_sqrt @ w @ d_inv_sqrt
    eigenvalues, eigenvectors = torch.linalg.eigh(laplacian)
    u = eigenvectors[:, :K]
    return F.normalize(u, dim=1).float(), eigenvalues.float()


def kmeans(u, iterations=10):
    centres = u[torch.linspace(0, u.shape[0] - 1, K).long()].clone()
    for _ in range(iterations):
        assign = torch.cdist(u, centres).argmin(dim=1)
        for j in range(K):
            members = u[assign == j]
            if members.shape[0] > 0:
                centres[j] = members.mean(dim=0)
    return assign


def cluster_accuracy(assign, labels):
    return max((torch.tensor(perm)[assign] == labels).float().mean().item()
               for perm in itertools.permutations(range(K)))


def pair_loss(u, labels):
    same = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
    sim = u @ u.T
    return (same * (1 - sim)).sum() / same.sum() \
        + ((1 - same) * sim.pow(2)).sum() / (1 - same).sum()


embed = nn.Sequential(nn.Linear(D, 32), nn.Tanh(), nn.Linear(32, 4))
optimizer = torch.optim.Adam(embed.parameters(), lr=1e-2)
train_sets = [make_set() for _ in range(8)]
test_sets = [make_set() for _ in range(4)]


def evaluate():
    losses, accuracies, gaps = [], [], []
    with torch.no_grad():
        for x, y in test_sets:
            u, eigenvalues = spectral_embedding(embed(x))
            losses.append(pair_loss(u, y).item())
            accuracies.append(cluster_accuracy(kmeans(u), y))
            gaps.append((eigenvalues[K] - eigenvalues[K - 1]).item())
    return np.mean(losses), np.mean(accuracies), np.mean(gaps)


with torch.no_grad():
    x, y = test_sets[0]
    u, eigenvalues = spectral_embedding(x)
    print(f'raw points | eigengap '
          f'{(eigenvalues[K] - eigenvalues[K - 1]).item():.4f} | k-means accuracy '
          f'{cluster_accuracy(kmeans(u), y):.3f}')
loader = DataLoader(TensorDataset(torch.stack([x for x, _ in train_sets]),
                                  torch.stack([y for _, y in train_sets])),
                    batch_size=1, shuffle=True)
loss, accuracy, gap = evaluate()
print(f'untrained | test pair loss {loss:.4f} | accuracy {accuracy:.3f} | eigengap {gap:.4f}')
for epoch in range(1, 7):
    total = 0.0
    for x, y in loader:
        x, y = x[0], y[0]
        u, _ = spectral_embedding(embed(x))
        loss = pair_loss(u, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, accuracy, gap = evaluate()
    print(f'epoch {epoch} | train pair loss {total / len(train_sets):.4f} | test pair loss '
          f'{loss:.4f} | accuracy {accuracy:.3f} | eigengap {gap:.4f}')
