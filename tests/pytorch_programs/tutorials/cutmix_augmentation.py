"""CutMix (Yun et al., 2019, "CutMix: Regularization Strategy to Train Strong Classifiers
with Localizable Features") and MixUp (Zhang et al., 2018, "mixup: Beyond Empirical Risk
Minimization") written with tensor ops, after the reference CutMix training script, on
made-up 16x16 images of four noisy shapes.

A batch's partners come from ``torch.randperm``; the mixing ratio from
``torch.distributions.Beta(alpha, alpha).sample()``. MixUp blends whole images,
lam * x + (1 - lam) * x[perm]; CutMix pastes a random box of the partner (its size from
sqrt(1 - lam), its centre from ``torch.randint(..., (2,)).tolist()``, its edges clamped to
the image) by slice assignment into a clone, and lam becomes the kept area. Either way
the loss mixes the two labels, lam * CE(out, y) + (1 - lam) * CE(out, y[perm]), checked
once against ``F.cross_entropy`` with the soft one-hot targets. One small CNN is trained
plainly (AdamW) and a ``copy.deepcopy`` of its untrained state with a coin flip
(``torch.rand``) between CutMix and MixUp per batch; both print the training loss and the
test loss and accuracy per epoch.

    python tests/pytorch_programs/tutorials/cutmix_augmentation.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Beta
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(6)
rng = np.random.default_rng(6)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
S, N_CLASSES = 16, 4


def make_images(count):
    """A horizontal bar, a vertical bar, a hollow square or a cross at a random place."""
    labels = rng.integers(0, N_CLASSES, count)
    x = 0.3 * rng.standard_normal((count, 1, S, S))
    for i, label in enumerate(labels):
        r, c = rng.integers(3, S - 3, 2)
        if label == 0:
            x[i, 0, r, 1:S - 1] += 1.0
        elif label == 1:
            x[i, 0, 1:S - 1, c] += 1.0
        elif label == 2:
            x[i, 0, r - 3:r + 3, c - 3] += 1.0
            x[i, 0, r - 3:r + 3, c + 2] += 1.0
            x[i, 0, r - 3, c - 3:c + 3] += 1.0
            x[i, 0, r + 2, c - 3:c + 3] += 1.0
        else:
            x[i, 0, r, c - 3:c + 4] += 1.0
            x[i, 0, r - 3:r + 4, c] += 1.0
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                                      nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(32, N_CLASSES)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def mixup(x, y, lam):
    perm = torch.randperm(x.shape[0], device=x.device)
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam


def cutmix(x, y, lam):
    perm = torch.randperm(x.shape[0], device=x.device)
    H, W = x.shape[2], x.shape[3]
    cut = float(np.sqrt(1.0 - lam))
    cut_h, cut_w = int(H * cut), int(W * cut)
    cy, cx = torch.randint(min(H, W), (2,)).tolist()
    y1, y2 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, H)
    x1, x2 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, W)
    mixed = x.clone()
    mixed[:, :, y1:y2, x1:x2] = x[perm, :, y1:y2, x1:x2]
    lam = 1.0 - (y2 - y1) * (x2 - x1) / (H * W)
    return mixed, y, y[perm], lam


def mixed_loss(out, y_a, y_b, lam):
    return lam * F.cross_entropy(out, y_a) + (1 - lam) * F.cross_entropy(out, y_b)


train_x, train_y = make_images(256)
test_x, test_y = make_images(256)
print(f'train {tuple(train_x.shape)}, class counts {torch.bincount(train_y).tolist()}')
beta = Beta(torch.tensor(1.0), torch.tensor(1.0))

model = SmallCNN().to(device)
augmented = copy.deepcopy(model)


def evaluate(net):
    net.eval()
    with torch.no_grad():
        out = net(test_x.to(device))
        loss = F.cross_entropy(out, test_y.to(device)).item()
        accuracy = (out.argmax(1) == test_y.to(device)).float().mean().item()
    net.train()
    return loss, accuracy


def train(net, name, augment, epochs=8):
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=5e-4)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)
    for epoch in range(1, epochs + 1):
        total, kinds = 0.0, [0, 0]
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            if augment:
                lam = beta.sample().item()
                use_cutmix = torch.rand(1).item() < 0.5
                kinds[int(use_cutmix)] += 1
                x, y_a, y_b, lam = (cutmix if use_cutmix else mixup)(x, y, lam)
                loss = mixed_loss(net(x), y_a, y_b, lam)
            else:
                loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        test_loss, accuracy = evaluate(net)
        extra = f' | mixup/cutmix batches {kinds[0]}/{kinds[1]}' if augment else ''
        print(f'{name} epoch {epoch} | train loss {total / len(loader):.4f} | test loss '
              f'{test_loss:.4f} | accuracy {accuracy:.3f}{extra}')


loss, accuracy = evaluate(model)
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}')
train(model, 'plain', augment=False)

# the mixed loss against cross_entropy with soft targets, and a CutMix box's area
with torch.no_grad():
    x, y = train_x[:8].to(device), train_y[:8].to(device)
    mixed, y_a, y_b, lam = cutmix(x, y, 0.6)
    out = model(mixed)
    soft = lam * F.one_hot(y_a, N_CLASSES).float() \
        + (1 - lam) * F.one_hot(y_b, N_CLASSES).float()
    same = torch.allclose(mixed_loss(out, y_a, y_b, lam), F.cross_entropy(out, soft))
    changed = (mixed != x).any(dim=1).float().mean(dim=(1, 2))
    print(f'cutmix lam {lam:.4f} | soft-target loss agrees: {same} | '
          f'changed pixels per image <= 1 - lam: {bool((changed <= 1 - lam + 1e-6).all())}')

train(augmented, 'cutmix/mixup', augment=True)
