"""PointNet (Qi et al., 2017) classifying made-up point clouds, written for the xpnn tests:
192 clouds of 128 points sampled on the surface of a sphere, a cube or a cylinder, each
scaled and turned by a random rotation, the matrix exponential (``torch.linalg.matrix_exp``)
of a random skew-symmetric matrix.

The network is PointNet's: a small T-Net predicts a 3x3 transform (added to
``torch.eye(3)``) applied to the points, a shared per-point MLP written as Conv1d layers with
kernel_size=1, a max over the points (``.max(dim=2)``), and a classifier head. The loss adds
the orthogonality penalty ||I - T T^T||^2 of the predicted transforms to the cross-entropy;
Adam, accuracy on held-out clouds.

    python tests/pytorch_programs/tutorials/pointnet.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
device = 'cuda' if torch.cuda.is_available() else 'cpu'
n_points, n_per_class = 128, 64
class_names = ['sphere', 'cube', 'cylinder']


def sphere(n):
    p = torch.randn(n, 3)
    return p / p.norm(dim=1, keepdim=True)


def cube(n):
    p = torch.randn(n, 3)
    return p / p.abs().amax(dim=1, keepdim=True)


def cylinder(n):
    p = torch.randn(n, 3)
    ring = p[:, :2] / p[:, :2].norm(dim=1, keepdim=True)
    return torch.cat([ring, torch.tanh(p[:, 2:])], dim=1)


def random_rotations(n):
    a = torch.randn(n, 3, 3)
    return torch.linalg.matrix_exp(a - a.transpose(1, 2))


clouds, labels = [], []
for label, shape in enumerate([sphere, cube, cylinder]):
    for _ in range(n_per_class):
        clouds.append(shape(n_points))
        labels.append(label)
clouds = torch.stack(clouds)
labels = torch.tensor(labels)
rotations = random_rotations(len(clouds))
scale = 1 + 0.2 * torch.randn(len(clouds), 1, 1)
clouds = scale * clouds @ rotations.transpose(1, 2) + 0.02 * torch.randn_like(clouds)
clouds = clouds.transpose(1, 2).contiguous()  # (batch, 3, points) for Conv1d
eye = torch.eye(3).expand(len(rotations), 3, 3)
print(f'clouds {tuple(clouds.shape)}; rotations orthogonal: '
      f'{torch.allclose(rotations @ rotations.transpose(1, 2), eye, atol=1e-5)}, '
      f'mean det {torch.linalg.det(rotations).mean().item():.4f}')

is_test = torch.arange(len(labels)) % 4 == 0
train_loader = DataLoader(TensorDataset(clouds[~is_test], labels[~is_test]), batch_size=16,
                          shuffle=True)
test_loader = DataLoader(TensorDataset(clouds[is_test], labels[is_test]), batch_size=64)


class TNet(nn.Module):
    def __init__(self, k=3):
        super().__init__()
        self.k = k
        self.mlp = nn.Sequential(nn.Conv1d(k, 32, 1), nn.BatchNorm1d(32), nn.ReLU(),
                                 nn.Conv1d(32, 64, 1), nn.BatchNorm1d(64), nn.ReLU())
        self.fc = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, k * k))
        nn.init.zeros_(self.fc[-1].weight)
        nn.init.zeros_(self.fc[-1].bias)

    def forward(self, x):
        features = self.mlp(x).max(dim=2).values
        transform = self.fc(features).view(-1, self.k, self.k)
        return transform + torch.eye(self.k, device=x.device)


class PointNet(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.tnet = TNet(3)
        self.mlp = nn.Sequential(nn.Conv1d(3, 32, kernel_size=1), nn.BatchNorm1d(32), nn.ReLU(),
                                 nn.Conv1d(32, 64, kernel_size=1), nn.BatchNorm1d(64), nn.ReLU(),
                                 nn.Conv1d(64, 128, kernel_size=1), nn.BatchNorm1d(128), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(),
                                  nn.Dropout(p=0.3), nn.Linear(64, n_classes))

    def forward(self, x):
        transform = self.tnet(x)
        x = torch.bmm(transform, x)
        x, _ = self.mlp(x).max(dim=2)
        return self.head(x), transform


def orthogonality_penalty(transform):
    eye = torch.eye(transform.size(1), device=transform.device).unsqueeze(0)
    diff = eye - torch.bmm(transform, transform.transpose(1, 2))
    return torch.linalg.matrix_norm(diff).pow(2).mean()


model = PointNet(len(class_names)).to(device)
print('parameters:', sum(p.numel() for p in model.parameters()))
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

for epoch in range(1, 7):
    model.train()
    running, penalty = 0.0, torch.zeros(())
    for points, target in train_loader:
        points, target = points.to(device), target.to(device)
        optimizer.zero_grad()
        logits, transform = model(points)
        reg = orthogonality_penalty(transform)
        loss = F.cross_entropy(logits, target) + 1e-2 * reg
        loss.backward()
        optimizer.step()
        running += loss.item()
        penalty += reg.detach()
    model.eval()
    correct, test_loss = 0, 0.0
    per_class = torch.zeros(len(class_names), dtype=torch.long)
    with torch.no_grad():
        for points, target in test_loader:
            logits, _ = model(points.to(device))
            test_loss += F.cross_entropy(logits, target, reduction='sum').item()
            pred = logits.argmax(dim=1)
            correct += (pred == target).sum().item()
            per_class += torch.bincount(target[pred == target], minlength=len(class_names))
    n_test = int(is_test.sum())
    print(f'epoch {epoch} | train loss {running / len(train_loader):.4f} | '
          f'penalty {penalty / len(train_loader):.5f} | test loss {test_loss / n_test:.4f} | '
          f'test accuracy {correct}/{n_test} | correct per class {per_class.tolist()}')
