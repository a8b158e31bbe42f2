"""TabTransformer (Huang et al., 2020), written for the xpnn tests on a made-up tabular
binary task with four categorical columns and three continuous ones.

Each categorical column has its own ``nn.Embedding`` (held in an ``nn.ModuleList``) plus a
learned column embedding added to its token; the column tokens go through an
``nn.TransformerEncoder`` (``batch_first=True``, dropout); the contextual tokens are
flattened and ``torch.cat``'d with the continuous features normalised by ``nn.LayerNorm``,
then an MLP gives two logits. The classes are imbalanced: ``torch.bincount`` of the training
labels gives inverse-frequency weights for ``nn.CrossEntropyLoss(weight=)``. AdamW runs
under ``OneCycleLR`` stepped per batch (a ``TensorDataset`` and a shuffling
``DataLoader``). Each epoch prints the validation loss, accuracy and the AUC (by ranks:
``argsort`` twice, the Mann-Whitney statistic). Early stopping keeps a ``copy.deepcopy``
of the best ``state_dict`` and restores it at the end for the test set.

    python tests/pytorch_programs/tutorials/tabtransformer.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
rng = np.random.default_rng(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

cardinalities = [5, 7, 3, 6]
n_cont = 3
effects = [rng.standard_normal(c) for c in cardinalities]
cont_weights = rng.standard_normal(n_cont)


def make_table(count):
    cats = np.stack([rng.integers(0, c, count) for c in cardinalities], axis=1)
    cont = rng.standard_normal((count, n_cont)) * np.array([1.0, 5.0, 0.2]) + 3.0
    score = sum(e[cats[:, i]] for i, e in enumerate(effects))
    score += ((cont - 3.0) / np.array([1.0, 5.0, 0.2])) @ cont_weights * 0.7
    score += 1.2 * (cats[:, 0] == cats[:, 2])                     # an interaction
    y = (score + 0.5 * rng.standard_normal(count) > 1.5).astype(np.int64)
    return (torch.from_numpy(cats), torch.from_numpy(cont.astype(np.float32)),
            torch.from_numpy(y))


class TabTransformer(nn.Module):
    def __init__(self, dim=16, heads=2, depth=2, hidden=32):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(c, dim) for c in cardinalities)
        self.column_embed = nn.Parameter(torch.randn(len(cardinalities), dim) * 0.1)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.1,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.cont_norm = nn.LayerNorm(n_cont)
        self.mlp = nn.Sequential(nn.Linear(len(cardinalities) * dim + n_cont, hidden),
                                 nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 2))

    def forward(self, cats, cont):
        tokens = torch.stack([emb(cats[:, i]) for i, emb in enumerate(self.embeddings)],
                             dim=1) + self.column_embed
        context = self.encoder(tokens).flatten(1)
        return self.mlp(torch.cat([context, self.cont_norm(cont)], dim=1))


def auc(scores, labels):
    ranks = torch.empty_like(scores)
    ranks[scores.argsort()] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    pos = labels == 1
    n_pos, n_neg = pos.sum().item(), (~pos).sum().item()
    return ((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()


train, valid, test = make_table(1024), make_table(256), make_table(256)
counts = torch.bincount(train[2], minlength=2)
class_weights = (counts.sum() / (2 * counts)).float()
print(f'class counts {counts.tolist()}, weights {[round(w, 3) for w in class_weights.tolist()]}')

model = TabTransformer().to(device)
criterion = nn.CrossEntropyLoss(weight=class_weights.to(device))
loader = DataLoader(TensorDataset(*train), batch_size=64, shuffle=True)
epochs = 12
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, epochs=epochs,
                                                steps_per_epoch=len(loader))


def evaluate(split):
    model.eval()
    cats, cont, y = (v.to(device) for v in split)
    with torch.no_grad():
        logits = model(cats, cont)
        loss = criterion(logits, y).item()
        acc = (logits.argmax(1) == y).float().mean().item()
        score = F.softmax(logits, dim=1)[:, 1]
    return loss, acc, auc(score, y)


best_loss, best_state, best_epoch, patience, waited = float('inf'), None, 0, 3, 0
for epoch in range(1, epochs + 1):
    model.train()
    total = 0.0
    for cats, cont, y in loader:
        cats, cont, y = cats.to(device), cont.to(device), y.to(device)
        loss = criterion(model(cats, cont), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item()
    val_loss, val_acc, val_auc = evaluate(valid)
    print(f'epoch {epoch:2d} | lr {scheduler.get_last_lr()[0]:.5f} | '
          f'train loss {total / len(loader):.4f} | valid loss {val_loss:.4f} | '
          f'accuracy {val_acc:.3f} | AUC {val_auc:.3f}')
    if val_loss < best_loss - 1e-4:
        best_loss, best_epoch, waited = val_loss, epoch, 0
        best_state = copy.deepcopy(model.state_dict())
    else:
        waited += 1
        if waited >= patience:
            print(f'early stop at epoch {epoch}')
            break

model.load_state_dict(best_state)
test_loss, test_acc, test_auc = evaluate(test)
print(f'best epoch {best_epoch} (valid loss {best_loss:.4f}) | test loss {test_loss:.4f} | '
      f'accuracy {test_acc:.3f} | AUC {test_auc:.3f}')
