"""A small TabNet (Arik and Pfister, 2021, "TabNet: Attentive Interpretable Tabular
Learning"), written for the xpnn tests after the paper's architecture, on made-up tabular
data where three of twelve features decide the class.

Sparsemax (Martins and Astudillo, 2016) is written by hand: the scores sorted by
``torch.sort(descending=True)``, their ``cumsum``, the support size found by comparing
``1 + k z_(k)`` with the cumulative sums over ``torch.arange`` and summing, the threshold
tau read by ``gather``; it is checked against its definition as the Euclidean projection on
the simplex (sums to one, p = z - tau on the support, z <= tau off it). Feature
transformers stack gated linear units (``F.glu`` after a linear layer and ghost batch
normalisation: ``nn.BatchNorm1d`` over virtual batches from ``chunk``) with sqrt(0.5)-scaled
residuals, the first two shared by every step. Attentive transformers produce the feature
masks by sparsemax of prior-scaled logits, the prior updated by (gamma - mask); the masks'
entropy is the sparsity regulariser. Adam on a shuffled DataLoader, cross-entropy plus the
regulariser; test accuracy, mask sparsity and the features the masks choose.

    python tests/pytorch_programs/tutorials/tabnet_sparsemax.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

FEATURES, INFORMATIVE = 12, (2, 5, 9)


def make_data(count):
    x = rng.standard_normal((count, FEATURES)).astype(np.float32)
    a, b, c = (x[:, i] for i in INFORMATIVE)
    y = (a + 0.8 * b - np.abs(c) + 0.6 > 0).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def sparsemax(z, dim=-1):
    """The Euclidean projection of ``z`` on the probability simplex along ``dim``."""
    z_sorted, _ = torch.sort(z, dim=dim, descending=True)
    cumsum = z_sorted.cumsum(dim)
    n = z.shape[dim]
    shape = [1] * z.dim()
    shape[dim] = n
    k = torch.arange(1, n + 1, device=z.device, dtype=z.dtype).view(shape)
    support = (1 + k * z_sorted) > cumsum
    k_z = support.sum(dim=dim, keepdim=True)
    tau = (cumsum.gather(dim, k_z - 1) - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0), tau


class GhostBatchNorm(nn.Module):
    def __init__(self, dim, virtual_batch=32, momentum=0.02):
        super().__init__()
        self.virtual_batch = virtual_batch
        self.bn = nn.BatchNorm1d(dim, momentum=momentum)

    def forward(self, x):
        chunks = x.chunk(max(1, math.ceil(x.shape[0] / self.virtual_batch)), dim=0)
        return torch.cat([self.bn(c) for c in chunks], dim=0)


class GLULayer(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.fc = nn.Linear(dim_in, 2 * dim_out, bias=False)
        self.bn = GhostBatchNorm(2 * dim_out)

    def forward(self, x):
        return F.glu(self.bn(self.fc(x)), dim=-1)


class FeatureTransformer(nn.Module):
    def __init__(self, shared, dim_in, dim):
        super().__init__()
        self.shared = shared
        self.own = nn.ModuleList([GLULayer(dim, dim), GLULayer(dim, dim)])
        self.scale = math.sqrt(0.5)

    def forward(self, x):
        x = self.shared[0](x)
        for layer in list(self.shared[1:]) + list(self.own):
            x = (x + layer(x)) * self.scale
        return x


class AttentiveTransformer(nn.Module):
    def __init__(self, n_a, dim_in):
        super().__init__()
        self.fc = nn.Linear(n_a, dim_in, bias=False)
        self.bn = GhostBatchNorm(dim_in)

    def forward(self, a, prior):
        mask, _ = sparsemax(self.bn(self.fc(a)) * prior)
        return mask


class TabNet(nn.Module):
    def __init__(self, dim_in, n_classes, n_d=8, n_a=8, steps=3, gamma=1.3):
        super().__init__()
        self.n_d, self.steps, self.gamma = n_d, steps, gamma
        self.input_bn = nn.BatchNorm1d(dim_in, momentum=0.02)
        width = n_d + n_a
        shared = nn.ModuleList([GLULayer(dim_in, width), GLULayer(width, width)])
        self.initial = FeatureTransformer(shared, dim_in, width)
        self.transformers = nn.ModuleList(FeatureTransformer(shared, dim_in, width)
                                          for _ in range(steps))
        self.attentive = nn.ModuleList(AttentiveTransformer(n_a, dim_in) for _ in range(steps))
        self.head = nn.Linear(n_d, n_classes)

    def forward(self, x):
        x = self.input_bn(x)
        prior = torch.ones_like(x)
        a = self.initial(x)[:, self.n_d:]
        out, entropy, masks = 0, 0, []
        for transformer, attentive in zip(self.transformers, self.attentive):
            mask = attentive(a, prior)
            entropy = entropy + torch.sum(-mask * torch.log(mask + 1e-10), dim=1).mean()
            prior = prior * (self.gamma - mask)
            h = transformer(mask * x)
            out = out + F.relu(h[:, :self.n_d])
            a = h[:, self.n_d:]
            masks.append(mask)
        return self.head(out), entropy / self.steps, torch.stack(masks)


# sparsemax against its definition
z = torch.tensor([[1.2, 0.9, -0.3, 0.1], [0.0, 0.0, 0.0, 0.0], [3.0, -1.0, 2.5, 2.9]])
p, tau = sparsemax(z)
print('sparsemax', [[round(v, 4) for v in row] for row in p.tolist()])
on = p > 0
print('sums to one:', torch.allclose(p.sum(-1), torch.ones(3)),
      '| p = z - tau on the support:', torch.allclose(p[on], (z - tau).expand_as(z)[on]),
      '| z <= tau off it:', bool((z <= tau)[~on].all()))
zg = torch.randn(5, 6, requires_grad=True)
pg, _ = sparsemax(zg)
(pg * torch.arange(6.0)).sum().backward()
print(f'gradient rows sum to zero on the support: '
      f'{zg.grad.sum(-1).abs().max().item() < 1e-5}')

train_x, train_y = make_data(1024)
test_x, test_y = make_data(512)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=128, shuffle=True)
model = TabNet(FEATURES, 2).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
lambda_sparse = 1e-3

for epoch in range(8):
    total = ent_total = 0.0
    for xb, yb in loader:
        logits, entropy, _ = model(xb.to(device))
        loss = F.cross_entropy(logits, yb.to(device)) + lambda_sparse * entropy
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        ent_total += entropy.item()
    model.eval()
    with torch.no_grad():
        logits, entropy, masks = model(test_x.to(device))
        test_loss = F.cross_entropy(logits, test_y.to(device))
        acc = (logits.argmax(1) == test_y.to(device)).float().mean()
        importance = masks.sum(dim=(0, 1))
        importance = importance / importance.sum()
        zeros = (masks == 0).float().mean()
    model.train()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | mask entropy '
          f'{ent_total / len(loader):.4f} | test loss {test_loss.item():.4f} | accuracy '
          f'{acc.item():.4f} | mask zeros {zeros.item():.3f}')
print('top features by mask weight:', sorted(importance.topk(3).indices.tolist()),
      'informative:', list(INFORMATIVE))
