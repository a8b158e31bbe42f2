"""A tabular classifier, written for the xpnn tests, on 1500 made-up customer rows: three
categorical columns (region, plan, channel), four continuous ones and an age band cut
from the first by ``torch.bucketize``, with an imbalanced
three-class label (about 70/20/10) that depends on both kinds.

Each categorical column has its own ``nn.Embedding`` in an ``nn.ModuleList``; the
continuous columns go through ``BatchNorm1d``; then Linear, ReLU, BatchNorm1d and Dropout.
The imbalance is met twice, as tabular code often does: a class-weighted
``CrossEntropyLoss(weight=...)`` and a ``WeightedRandomSampler`` in the DataLoader over a
``TensorDataset``. StepLR; the best epoch's ``state_dict`` and the optimizer's are kept with ``torch.save`` into
an ``io.BytesIO`` and restored with ``torch.load``; the confusion matrix is built with
``bincount`` and printed, with the macro F1.

    python tests/pytorch_programs/tutorials/tabular.py
"""
import io
import math
import random

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

torch.manual_seed(5)
rng = random.Random(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

cardinalities = [6, 4, 3]
region_effect = [rng.gauss(0, 1) for _ in range(6)]
plan_effect = [rng.gauss(0, 1) for _ in range(4)]
rows_cat, rows_cont, rows_y = [], [], []
for _ in range(1500):
    cat = [rng.randrange(c) for c in cardinalities]
    age, income, visits, tenure = (rng.gauss(40, 12), rng.lognormvariate(3, 0.5),
                                   rng.expovariate(0.2), rng.uniform(0, 10))
    score = (region_effect[cat[0]] + plan_effect[cat[1]] + 0.8 * (cat[2] == 2)
             + 0.05 * (age - 40) + 0.1 * visits - 0.2 * tenure + rng.gauss(0, 0.5))
    y = 0 if score < 0.6 else (1 if score < 1.6 else 2)
    rows_cat.append(cat)
    rows_cont.append([age, income, visits, tenure])
    rows_y.append(y)
x_cat, x_cont, y = torch.tensor(rows_cat), torch.tensor(rows_cont), torch.tensor(rows_y)
n_train = 1200
age_bands = torch.tensor([30.0, 40.0, 50.0])
x_cat = torch.cat([x_cat, torch.bucketize(x_cont[:, :1], age_bands)], dim=1)
cardinalities.append(len(age_bands) + 1)
classes, counts = torch.unique(y[:n_train], return_counts=True)
print(f'classes {classes.tolist()}, counts {counts.tolist()}, continuous means '
      f'{[round(v, 2) for v in x_cont.mean(0).tolist()]}')

class_weight = counts.sum() / (len(counts) * counts.float())
sample_weight = class_weight.sqrt()[y[:n_train]]
sampler = WeightedRandomSampler(sample_weight.double(), num_samples=n_train, replacement=True)
train_loader = DataLoader(TensorDataset(x_cat[:n_train], x_cont[:n_train], y[:n_train]),
                          batch_size=100, sampler=sampler)
test_cat, test_cont, test_y = x_cat[n_train:], x_cont[n_train:], y[n_train:]


class TabularNet(nn.Module):
    def __init__(self, cardinalities, n_cont, n_classes, hidden=32):
        super().__init__()
        dims = [min(4, (c + 1) // 2) for c in cardinalities]
        self.embeds = nn.ModuleList([nn.Embedding(c, d) for c, d in zip(cardinalities, dims)])
        self.emb_drop = nn.Dropout(0.05)
        self.bn_cont = nn.BatchNorm1d(n_cont)
        self.layers = nn.Sequential(
            nn.Linear(sum(dims) + n_cont, hidden), nn.ReLU(), nn.BatchNorm1d(hidden),
            nn.Dropout(0.2), nn.Linear(hidden, n_classes))

    def forward(self, x_cat, x_cont):
        x = torch.cat([emb(x_cat[:, i]) for i, emb in enumerate(self.embeds)], dim=1)
        x = torch.cat([self.emb_drop(x), self.bn_cont(x_cont)], dim=1)
        return self.layers(x)


def confusion_matrix(pred, target, n_classes=3):
    return torch.bincount(target * n_classes + pred,
                          minlength=n_classes ** 2).reshape(n_classes, n_classes)


def macro_f1(cm):
    tp = cm.diag().float()
    precision = tp / cm.sum(dim=0).clamp(min=1)
    recall = tp / cm.sum(dim=1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-8)
    return f1.mean().item()


model = TabularNet(cardinalities, 4, 3).to(device)
criterion = nn.CrossEntropyLoss(weight=class_weight.to(device))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

best_f1, best_epoch, best_state = -math.inf, 0, io.BytesIO()
for epoch in range(1, 11):
    model.train()
    total, seen = 0.0, torch.zeros(3, dtype=torch.long)
    for xc, xn, yb in train_loader:
        xc, xn, yb = xc.to(device), xn.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = criterion(model(xc, xn), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * yb.size(0)
        seen += torch.bincount(yb, minlength=3).cpu()
    scheduler.step()
    model.eval()
    with torch.no_grad():
        logits = model(test_cat.to(device), test_cont.to(device))
        test_loss = criterion(logits, test_y.to(device)).item()
        f1 = macro_f1(confusion_matrix(logits.argmax(1), test_y.to(device)))
    if f1 > best_f1:
        best_f1, best_epoch = f1, epoch
        best_state.seek(0)
        best_state.truncate()
        torch.save({'epoch': epoch, 'model': model.state_dict(),
                    'optimizer': optimizer.state_dict()}, best_state)
    print(f'epoch {epoch:2d} | lr {optimizer.param_groups[0]["lr"]:.4f} | sampled classes '
          f'{seen.tolist()} | train loss {total / n_train:.4f} | test loss {test_loss:.4f} '
          f'| macro F1 {f1:.3f}')

best_state.seek(0)
checkpoint = torch.load(best_state, weights_only=True)
model.load_state_dict(checkpoint['model'])
optimizer.load_state_dict(checkpoint['optimizer'])
model.eval()
with torch.no_grad():
    pred = model(test_cat, test_cont).argmax(1)
cm = confusion_matrix(pred, test_y)
print(f'best epoch {checkpoint["epoch"]}, restored (optimizer step '
      f'{int(optimizer.state_dict()["state"][0]["step"])}); confusion matrix (rows: true class):')
print(cm)
print(f'macro F1 {macro_f1(cm):.3f}, accuracy {(pred == test_y).float().mean().item():.3f}, '
      f'running mean of the first continuous column {model.bn_cont.running_mean[0].item():.2f}')
