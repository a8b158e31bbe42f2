"""Deep SVDD one-class anomaly detection (Ruff et al., 2018, "Deep One-Class
Classification"), written for the xpnn tests after the paper's method, on made-up 12x12
images.

Normal images are horizontal bars at a random row; anomalies (test only) are vertical bars,
crosses and squares. The network has no bias terms anywhere (bias-free ``Conv2d`` and
``Linear`` layers, LeakyReLU, max pooling), so it cannot map every input to the centre by a
constant. The centre c is the mean of the initial network's outputs on the training data,
with entries too close to zero pushed out to +-eps by ``torch.where``. The one-class
objective is the mean squared distance ``torch.sum((z - c) ** 2, dim=1)``; the
soft-boundary variant (a ``copy.deepcopy`` of the initial network) learns a hypersphere of
radius R, with R set after each epoch to the (1 - nu) ``torch.quantile`` of the distances,
and penalises only the points outside: R ** 2 + mean(relu(dist - R ** 2)) / nu. The anomaly
score is the distance to c (minus R ** 2), and the ROC-AUC is computed by hand from the
``argsort`` of the scores and ``cumsum`` of the labels (the trapezoid rule).

    python tests/pytorch_programs/tutorials/deep_svdd_anomaly.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(9)
rng = np.random.default_rng(9)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
S = 12


def make_images(count, kinds):
    """kind 0: a horizontal bar (normal); 1: a vertical bar; 2: a cross; 3: a square."""
    labels = rng.choice(kinds, count)
    x = 0.2 * rng.standard_normal((count, 1, S, S))
    for i, kind in enumerate(labels):
        r, c = rng.integers(3, S - 3, 2)
        if kind == 0:
            x[i, 0, r, 1:S - 1] += 1.0
        elif kind == 1:
            x[i, 0, 1:S - 1, c] += 1.0
        elif kind == 2:
            x[i, 0, r, c - 3:c + 4] += 1.0
            x[i, 0, r - 3:r + 4, c] += 1.0
        else:
            x[i, 0, r - 2:r + 3, c - 2:c + 3] += 0.6
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels != 0)


class OneClassNet(nn.Module):
    def __init__(self, rep_dim=8):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.fc = nn.Linear(16 * 3 * 3, rep_dim, bias=False)

    def forward(self, x):
        x = F.max_pool2d(F.leaky_relu(self.conv1(x), 0.1), 2)
        x = F.max_pool2d(F.leaky_relu(self.conv2(x), 0.1), 2)
        return self.fc(x.flatten(1))


def init_center(net, x, eps=0.1):
    with torch.no_grad():
        c = net(x.to(device)).mean(dim=0)
    small = c.abs() < eps
    c = torch.where(small & (c < 0), torch.full_like(c, -eps), c)
    c = torch.where(small & (c >= 0), torch.full_like(c, eps), c)
    return c


def distances(net, x, c):
    return torch.sum((net(x) - c) ** 2, dim=1)


def roc_auc(scores, labels):
    """The area under the ROC curve, anomalies (labels True) ranked by descending score."""
    order = torch.argsort(scores, descending=True)
    hits = labels[order].float()
    tpr = torch.cat([torch.zeros(1, device=scores.device), torch.cumsum(hits, 0) / hits.sum()])
    fpr = torch.cat([torch.zeros(1, device=scores.device),
                     torch.cumsum(1 - hits, 0) / (1 - hits).sum()])
    return ((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2).sum()


train_x, _ = make_images(512, [0])
test_x, test_anomaly = make_images(400, [0, 0, 0, 1, 2, 3])
print(f'train {tuple(train_x.shape)} normal | test {test_anomaly.sum().item()} anomalies '
      f'of {len(test_anomaly)}')

net = OneClassNet().to(device)
c = init_center(net, train_x)
print(f'centre norm {c.norm().item():.4f} | entries at +-eps {(c.abs() == 0.1).sum().item()}')
soft = copy.deepcopy(net)


def evaluate(model, radius=0.0):
    model.eval()
    with torch.no_grad():
        scores = distances(model, test_x.to(device), c) - radius ** 2
        auc = roc_auc(scores, test_anomaly.to(device)).item()
        normal = scores[~test_anomaly.to(device)].mean().item()
        outside = (scores > 0).float().mean().item()
    model.train()
    return auc, normal, outside


auc, normal, _ = evaluate(net)
print(f'untrained | auc {auc:.4f} | mean normal distance {normal:.4f}')


def train(model, name, nu=None, epochs=10, warmup=2):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    loader = DataLoader(TensorDataset(train_x), batch_size=64, shuffle=True)
    radius = torch.tensor(0.0, device=device)
    for epoch in range(1, epochs + 1):
        total = 0.0
        for (x,) in loader:
            dist = distances(model, x.to(device), c)
            if nu is None:
                loss = dist.mean()
            else:
                loss = radius ** 2 + F.relu(dist - radius ** 2).mean() / nu
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        extra = ''
        if nu is not None:
            if epoch >= warmup:
                with torch.no_grad():
                    dist = distances(model, train_x.to(device), c)
                    radius = torch.quantile(torch.sqrt(dist), 1 - nu)
        auc, normal, outside = evaluate(model, radius.item())
        if nu is not None:
            extra = f' | radius {radius.item():.4f} | flagged {outside:.3f}'
        print(f'{name} epoch {epoch} | loss {total / len(loader):.5f} | test auc {auc:.4f} | '
              f'mean normal score {normal:.5f}{extra}')


train(net, 'one-class')
train(soft, 'soft-boundary', nu=0.1)

# the hand-written AUC against counting the pairs ranked right
scores = torch.tensor([0.9, 0.1, 0.8, 0.4, 0.3, 0.7])
labels = torch.tensor([True, False, True, False, True, False])
pairs = (scores[labels][:, None] > scores[~labels][None, :]).float().mean()
print(f'auc by ranks {roc_auc(scores, labels).item():.4f} | by pairs {pairs.item():.4f}')
