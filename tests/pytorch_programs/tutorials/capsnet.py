"""A capsule network with dynamic routing (Sabour, Frosst and Hinton 2017), written small for
the xpnn tests after the common PyTorch implementations, on 300 made-up 1x14x14 images of 3
classes (a horizontal bar, a vertical bar, a diagonal) at random places, under noise.

A Conv2d with ReLU, then primary capsules: a Conv2d whose 32 output channels are 4 capsule
types of 8 dimensions over a 4x4 grid, reshaped to 64 capsules and squashed
(``squash(s) = |s|^2 / (1 + |s|^2) * s / |s|``). Each primary capsule predicts each class
capsule through its own 16x8 matrix (``torch.matmul`` broadcasting a (1, 64, 3, 16, 8)
weight against (batch, 64, 1, 8, 1) inputs); three iterations of routing by agreement
(softmax of the routing logits over the classes, weighted sums, squash, agreement by
``torch.einsum``) use ``u_hat.detach()`` in all but the last. The class is the longest
output capsule; the loss is the margin loss (m+ = 0.9, m- = 0.1, lambda = 0.5).

    python tests/pytorch_programs/tutorials/capsnet.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

random.seed(2)
torch.manual_seed(2)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

CLASSES = ['hbar', 'vbar', 'diagonal']


def make_data(n):
    images = 0.2 * torch.randn(n, 1, 14, 14)
    labels = []
    for i in range(n):
        c = i % 3
        r, q = random.randint(3, 10), random.randint(3, 10)
        if c == 0:
            images[i, 0, r, q - 3:q + 4] += 1.5
        elif c == 1:
            images[i, 0, r - 3:r + 4, q] += 1.5
        else:
            for k in range(-3, 4):
                images[i, 0, r + k, q + k] += 1.5
        labels.append(c)
    return images, torch.tensor(labels)


def squash(s, dim=-1, eps=1e-8):
    squared_norm = (s ** 2).sum(dim=dim, keepdim=True)
    scale = squared_norm / (1 + squared_norm)
    return scale * s / torch.sqrt(squared_norm + eps)


class PrimaryCaps(nn.Module):
    def __init__(self, in_channels, num_types=8, dim=8):
        super().__init__()
        self.dim = dim
        self.conv = nn.Conv2d(in_channels, num_types * dim, kernel_size=3, stride=2)

    def forward(self, x):
        out = self.conv(x)                                  # (B, types*dim, 4, 4)
        b, _, h, w = out.shape
        out = out.view(b, -1, self.dim, h, w).permute(0, 1, 3, 4, 2)
        return squash(out.reshape(b, -1, self.dim))         # (B, 64, dim)


class ClassCaps(nn.Module):
    def __init__(self, num_in, in_dim, num_classes, out_dim, routing_iters=3):
        super().__init__()
        self.routing_iters = routing_iters
        self.W = nn.Parameter(0.05 * torch.randn(1, num_in, num_classes, out_dim, in_dim))

    def forward(self, u):
        # u_hat[b, i, j] = W[i, j] @ u[b, i]: (B, in, classes, out_dim)
        u_hat = torch.matmul(self.W, u[:, :, None, :, None]).squeeze(-1)
        u_hat_detached = u_hat.detach()
        b = torch.zeros(u_hat.shape[:3], device=u.device)
        for it in range(self.routing_iters):
            c = F.softmax(b, dim=2)
            if it < self.routing_iters - 1:
                s = (c.unsqueeze(-1) * u_hat_detached).sum(dim=1)
                v = squash(s)
                b = b + torch.einsum('bijd,bjd->bij', u_hat_detached, v)
            else:
                s = (c.unsqueeze(-1) * u_hat).sum(dim=1)
                v = squash(s)
        return v, c


class CapsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5)
        self.primary = PrimaryCaps(16, num_types=4)
        self.classes = ClassCaps(4 * 4 * 4, 8, len(CLASSES), 16)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        v, c = self.classes(self.primary(x))
        return v, c


def margin_loss(lengths, labels, m_plus=0.9, m_minus=0.1, lam=0.5):
    t = F.one_hot(labels, num_classes=lengths.size(1)).float()
    loss = t * F.relu(m_plus - lengths) ** 2 + lam * (1 - t) * F.relu(lengths - m_minus) ** 2
    return loss.sum(dim=1).mean()


train_x, train_y = make_data(240)
test_x, test_y = make_data(60)
train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=24, shuffle=True)

model = CapsNet().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)

for epoch in range(1, 7):
    model.train()
    total, correct = 0.0, 0
    for x, y in train_loader:
        x, y = x.to(device), y.to(device)
        v, _ = model(x)
        lengths = v.norm(dim=-1)
        loss = margin_loss(lengths, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        correct += (lengths.argmax(dim=1) == y).sum().item()
    model.eval()
    with torch.no_grad():
        v, c = model(test_x.to(device))
        lengths = v.norm(dim=-1)
        test_loss = margin_loss(lengths, test_y).item()
        test_correct = (lengths.argmax(dim=1) == test_y).sum().item()
    print(f'epoch {epoch} | train loss {total / len(train_x):.4f} | train accuracy '
          f'{correct / len(train_x):.3f} | test loss {test_loss:.4f} | test accuracy '
          f'{test_correct / len(test_x):.3f}')

with torch.no_grad():
    print(f'primary capsules: {tuple(model.primary(F.relu(model.conv1(test_x[:1]))).shape)}')
print('class capsules:', tuple(v.shape), '| coupling coefficients:', tuple(c.shape))
print(f'coupling sums to one over classes: {torch.allclose(c.sum(dim=2), torch.ones(1))}')
print(f'mean capsule length of the true class {lengths.gather(1, test_y[:, None]).mean().item():.3f}')
