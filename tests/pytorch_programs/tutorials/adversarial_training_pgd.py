"""Adversarial examples and adversarial training, written for the xpnn tests after
PyTorch's "Adversarial Example Generation" tutorial (FGSM), Madry et al., 2018 ("Towards
Deep Learning Models Resistant to Adversarial Attacks", PGD) and Zhang et al., 2019
("Theoretically Principled Trade-off between Robustness and Accuracy", TRADES), on made-up
images.

A small conv net with BatchNorm classifies 12x12 images of four noisy templates. FGSM takes
one step of ``eps * grad.sign()`` from ``torch.autograd.grad`` of the loss with respect to
an input made by ``x.clone().detach().requires_grad_()``; PGD starts at a random point of the
L-inf ball (``torch.empty_like(x).uniform_(-eps, eps)``), takes signed steps and projects
back by ``torch.clamp`` with tensor ``min``/``max`` (the ball intersected with [0, 1]). The
model is put in ``eval()`` during every attack and back in ``train()`` after. Training runs
in three phases: clean, then TRADES (cross-entropy plus ``F.kl_div(log_softmax(adversarial),
softmax(clean), reduction="batchmean", log_target=False)``, its attack started at
x + 0.001 * randn), then PGD adversarial training; clean and robust accuracies are printed
per epoch.

    python tests/pytorch_programs/tutorials/adversarial_training_pgd.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

N_CLASSES, SIZE, EPS, ALPHA, STEPS = 4, 12, 0.1, 0.025, 5
templates = rng.random((N_CLASSES, 1, SIZE, SIZE)) > 0.5


def make_images(count):
    labels = rng.integers(0, N_CLASSES, count)
    images = 0.3 + 0.4 * templates[labels] + rng.normal(0, 0.15, (count, 1, SIZE, SIZE))
    return (torch.tensor(np.clip(images, 0, 1), dtype=torch.float32),
            torch.tensor(labels))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(16, N_CLASSES)

    def forward(self, x):
        return self.fc(self.features(x))


def fgsm(model, x, y, eps=EPS):
    x = x.clone().detach().requires_grad_()
    loss = F.cross_entropy(model(x), y)
    grad, = torch.autograd.grad(loss, x)
    return (x + eps * grad.sign()).clamp(0, 1).detach()


def pgd(model, x, y, eps=EPS, alpha=ALPHA, steps=STEPS):
    lower, upper = (x - eps).clamp(min=0), (x + eps).clamp(max=1)
    x_adv = x + torch.empty_like(x).uniform_(-eps, eps)
    x_adv = torch.clamp(x_adv, min=lower, max=upper).detach()
    for _ in range(steps):
        x_adv.requires_grad_()
        loss = F.cross_entropy(model(x_adv), y)
        grad, = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + alpha * grad.sign()
        x_adv = torch.clamp(x_adv, min=lower, max=upper)
    return x_adv.detach()


def trades_attack(model, x, eps=EPS, alpha=ALPHA, steps=STEPS):
    clean = F.softmax(model(x), dim=1).detach()
    x_adv = x.detach() + 0.001 * torch.randn(x.shape)
    for _ in range(steps):
        x_adv.requires_grad_()
        kl = F.kl_div(F.log_softmax(model(x_adv), dim=1), clean, reduction="sum")
        grad, = torch.autograd.grad(kl, x_adv)
        x_adv = x_adv.detach() + alpha * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0.0, 1.0)
    return x_adv.detach()


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).sum().item() / len(y)


train_x, train_y = make_images(320)
test_x, test_y = make_images(128)
print(f'train images {tuple(train_x.shape)}, pixel range [{train_x.min().item():.2f}, '
      f'{train_x.max().item():.2f}], class counts {torch.bincount(train_y).tolist()}')

model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


def report(tag, attack):
    model.eval()
    clean = accuracy(model, test_x, test_y)
    x_adv = attack(model, test_x, test_y)
    robust = accuracy(model, x_adv, test_y)
    linf = (x_adv - test_x).abs().max()
    with torch.no_grad():
        adv_loss = F.cross_entropy(model(x_adv), test_y).item()
    model.train()
    print(f'{tag} | clean acc {clean:.3f} | robust acc {robust:.3f} | adv loss '
          f'{adv_loss:.4f} | in ball {bool(linf <= EPS + 1e-6)}')


for epoch in range(1, 3):
    total = 0.0
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f'clean epoch {epoch} | train loss {total / len(loader):.4f}')
    report(f'clean epoch {epoch} fgsm', fgsm)

beta = 3.0
for epoch in range(1, 3):
    total, total_kl = 0.0, 0.0
    for x, y in loader:
        model.eval()
        x_adv = trades_attack(model, x)
        model.train()
        logits = model(x)
        kl = F.kl_div(F.log_softmax(model(x_adv), dim=1), F.softmax(logits, dim=1),
                      reduction="batchmean", log_target=False)
        loss = F.cross_entropy(logits, y) + beta * kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        total_kl += kl.item()
    print(f'trades epoch {epoch} | train loss {total / len(loader):.4f} | kl '
          f'{total_kl / len(loader):.4f}')
    report(f'trades epoch {epoch} fgsm', fgsm)

for epoch in range(1, 4):
    total = 0.0
    for x, y in loader:
        model.eval()
        x_adv = pgd(model, x, y)
        model.train()
        loss = F.cross_entropy(model(x_adv), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f'pgd epoch {epoch} | adversarial train loss {total / len(loader):.4f}')
    report(f'pgd epoch {epoch} pgd', pgd)
