"""Learning from imbalanced classes, written for the xpnn tests on 2200 made-up points of
three classes in 8 dimensions (about 75/19/6 percent), as a user would set it up with
``torch.utils.data``.

The data are a ``TensorDataset`` cut by ``random_split`` with a seeded
``torch.Generator().manual_seed(...)`` into train, validation and test parts; the rare class's
training points are picked out as a ``Subset`` and jittered into an extra dataset joined to
the training part by ``ConcatDataset``. Two MLPs are trained: one under a class-weighted
``F.cross_entropy(weight=...)`` with a shuffled loader, one under a hand-written focal loss
(Lin et al., 2017: log-probabilities picked by ``gather``) on batches drawn by a
``WeightedRandomSampler`` built from inverse class frequencies (``torch.bincount``). The
confusion matrices are accumulated batch by batch with ``index_put_(..., accumulate=True)``
and ``scatter_add_``; per-class precision, recall and F1 are printed.

    python tests/pytorch_programs/tutorials/imbalanced.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (ConcatDataset, DataLoader, Subset, TensorDataset,
                              WeightedRandomSampler, random_split)

torch.manual_seed(21)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
N_CLASSES = 3


def make_data(counts):
    xs, ys = [], []
    centres = torch.tensor([[0.0, 0.0], [1.6, 0.4], [0.6, 1.8]])
    for label, n in enumerate(counts):
        base = centres[label].repeat(4)
        xs.append(base + torch.randn(n, 8))
        ys.append(torch.full((n,), label, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


features, labels = make_data([1650, 420, 130])
dataset = TensorDataset(features, labels)
train_set, val_set, test_set = random_split(dataset, [0.6, 0.2, 0.2],
                                            generator=torch.Generator().manual_seed(42))
train_labels = labels[train_set.indices]
print(f'split sizes {len(train_set)}/{len(val_set)}/{len(test_set)}, '
      f'train counts {torch.bincount(train_labels, minlength=N_CLASSES).tolist()}')

rare = Subset(train_set, (train_labels == 2).nonzero().flatten().tolist())
rare_x = torch.stack([rare[i][0] for i in range(len(rare))])
rare_y = torch.stack([rare[i][1] for i in range(len(rare))])
jittered = TensorDataset(rare_x + 0.3 * torch.randn(rare_x.shape), rare_y)
train_plus = ConcatDataset([train_set, jittered])
plus_labels = torch.cat([train_labels, rare_y])
class_counts = torch.bincount(plus_labels, minlength=N_CLASSES)
print(f'rare subset {len(rare)} points, training set with jittered copies {len(train_plus)}, '
      f'counts {class_counts.tolist()}')

class_weight = class_counts.sum() / (N_CLASSES * class_counts.float())
sample_weight = class_weight[plus_labels]
sampler = WeightedRandomSampler(sample_weight, num_samples=len(train_plus), replacement=True)
val_loader = DataLoader(val_set, batch_size=128)
test_loader = DataLoader(test_set, batch_size=128)


def make_model():
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, N_CLASSES)).to(device)


def focal_loss(logits, target, gamma=2.0, alpha=None):
    log_p = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    loss = -(1 - log_p.exp()) ** gamma * log_p
    if alpha is not None:
        loss = alpha[target] * loss
    return loss.mean()


def evaluate(model, loader):
    model.eval()
    confusion = torch.zeros(N_CLASSES, N_CLASSES, dtype=torch.long, device=device)
    confusion_flat = torch.zeros(N_CLASSES * N_CLASSES, dtype=torch.long, device=device)
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction='sum').item()
            count += y.numel()
            pred = logits.argmax(dim=1)
            confusion.index_put_((y, pred), torch.ones_like(y), accumulate=True)
            confusion_flat.scatter_add_(0, y * N_CLASSES + pred, torch.ones_like(y))
    assert torch.equal(confusion.view(-1), confusion_flat)
    return total / count, confusion


def report(name, confusion):
    tp = confusion.diag().float()
    precision = tp / confusion.sum(dim=0).clamp(min=1)
    recall = tp / confusion.sum(dim=1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-8)
    print(f'{name} confusion matrix (rows true, columns predicted):')
    for row in confusion.tolist():
        print('   ' + ' '.join(f'{v:4d}' for v in row))
    for c in range(N_CLASSES):
        print(f'   class {c}: precision {precision[c].item():.3f} recall {recall[c].item():.3f} '
              f'f1 {f1[c].item():.3f}')
    print(f'   macro f1 {f1.mean().item():.3f}')


runs = {
    'weighted ce': (DataLoader(train_plus, batch_size=64, shuffle=True),
                    lambda logits, y: F.cross_entropy(logits, y, weight=class_weight.to(device))),
    'focal + sampler': (DataLoader(train_plus, batch_size=64, sampler=sampler),
                        lambda logits, y: focal_loss(logits, y, gamma=2.0)),
}
for name, (loader, criterion) in runs.items():
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    print(f'{name} | untrained | val ce {evaluate(model, val_loader)[0]:.4f}')
    for epoch in range(1, 9):
        model.train()
        seen = torch.zeros(N_CLASSES, dtype=torch.long)
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += torch.bincount(y.cpu(), minlength=N_CLASSES)
        if epoch % 2 == 0:
            val_loss, _ = evaluate(model, val_loader)
            print(f'{name} | epoch {epoch} | train loss {loss.item():.4f} | val ce {val_loss:.4f} '
                  f'| classes seen {seen.tolist()}')
    test_loss, confusion = evaluate(model, test_loader)
    report(f'{name} test', confusion)
