"""torch.utils.data beyond the basics, after PyTorch's "Datasets & DataLoaders" tutorial and
the torch.utils.data documentation, on made-up imbalanced 3-class data.

* a map-style Dataset returning dicts, and one returning namedtuples, batched by
  ``default_collate`` (dicts of stacked tensors, a namedtuple of stacked fields);
* a ``BatchSampler`` over a ``SequentialSampler`` as a DataLoader's ``batch_sampler``, with
  a ``collate_fn`` of our own;
* ``random_split`` by fractions on a seeded ``torch.Generator``, ``Subset``,
  ``ConcatDataset`` of a ``TensorDataset`` and the dict dataset, ``SubsetRandomSampler``;
* an ``IterableDataset`` streaming fixed chunks (``get_worker_info()`` is None with
  ``num_workers=0``), batched with ``drop_last=True``;
* a classifier trained under class-balanced sampling: a ``WeightedRandomSampler`` (weights
  1 / class count, replacement, a seeded Generator), compared per class on a held-out
  split.

    python tests/pytorch_programs/tutorials/data_sampler_pipeline.py
"""
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                              IterableDataset, SequentialSampler, Subset,
                              SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                              default_collate, get_worker_info, random_split)

torch.manual_seed(0)
rng = np.random.default_rng(3)
N_CLASSES, DIM = 3, 8

# imbalanced classes: 70% / 22% / 8%
counts = [840, 264, 96]
centres = rng.standard_normal((N_CLASSES, DIM)) * 0.45
features = np.concatenate([centres[c] + rng.standard_normal((n, DIM))
                           for c, n in enumerate(counts)]).astype(np.float32)
labels = np.concatenate([np.full(n, c) for c, n in enumerate(counts)]).astype(np.int64)
order = rng.permutation(len(labels))
features, labels = features[order], labels[order]

Sample = namedtuple("Sample", ["x", "y"])


class DictDataset(Dataset):
    def __init__(self, x, y):
        self.x = torch.tensor(x)
        self.y = torch.tensor(y)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i], "index": i}


class TupleDataset(DictDataset):
    def __getitem__(self, i):
        return Sample(self.x[i], self.y[i])


class Stream(IterableDataset):
    def __init__(self, x, y, chunk):
        self.x, self.y, self.chunk = torch.tensor(x), torch.tensor(y), chunk

    def __iter__(self):
        info = get_worker_info()
        assert info is None
        for start in range(0, len(self.y), self.chunk):
            yield self.x[start:start + self.chunk].mean(0), self.y[start]


full = DictDataset(features, labels)
batch = default_collate([full[0], full[1], full[2]])
print(f"dict batch: keys {sorted(batch)} | x {tuple(batch['x'].shape)} | "
      f"index {batch['index'].tolist()} dtype {batch['index'].dtype}")
tuples = default_collate([TupleDataset(features, labels)[i] for i in range(4)])
print(f"namedtuple batch: {type(tuples).__name__} fields {tuples._fields} | "
      f"y {tuples.y.tolist()}")


def stack_collate(items):
    xs = torch.stack([item["x"] for item in items])
    ys = torch.stack([item["y"] for item in items])
    return xs, ys


batches = BatchSampler(SequentialSampler(range(10)), batch_size=4, drop_last=False)
print(f"batch sampler: {list(batches)}")
seq_loader = DataLoader(full, batch_sampler=BatchSampler(SequentialSampler(full), 200, False),
                        collate_fn=stack_collate)
means = [xb.mean().item() for xb, _ in seq_loader]
print(f"sequential batches {len(means)} | first mean {means[0]:.4f}")

split_gen = torch.Generator().manual_seed(42)
train_set, val_set, test_set = random_split(full, [0.6, 0.2, 0.2], generator=split_gen)
print(f"split sizes {len(train_set)}, {len(val_set)}, {len(test_set)} | "
      f"disjoint {len(set(train_set.indices) & set(test_set.indices)) == 0}")
extra = TensorDataset(torch.tensor(features[:30]), torch.tensor(labels[:30]))
combined = ConcatDataset([Subset(full, range(30)), extra])
print(f"concat length {len(combined)} | cumulative sizes {combined.cumulative_sizes} | "
      f"item 31 class {combined[31][1].item()} == {combined[1]['y'].item()}")

stream = DataLoader(Stream(features, labels, 16), batch_size=8, drop_last=True)
stream_batches = [xb.shape[0] for xb, _ in stream]
print(f"stream batches {len(stream_batches)} of {stream_batches[0]} (drop_last)")

train_labels = torch.tensor(labels)[train_set.indices]
class_counts = torch.bincount(train_labels, minlength=N_CLASSES)
weights = 1.0 / class_counts.float()
sample_weights = weights[train_labels]
print(f"train class counts {class_counts.tolist()}")

sampler = WeightedRandomSampler(sample_weights, num_samples=len(train_set), replacement=True,
                                generator=torch.Generator().manual_seed(7))
balanced = DataLoader(train_set, batch_size=60, sampler=sampler, collate_fn=stack_collate)
val_loader = DataLoader(val_set, batch_size=40, sampler=SubsetRandomSampler(
    range(len(val_set)), generator=torch.Generator().manual_seed(1)), collate_fn=stack_collate)

model = nn.Sequential(nn.Linear(DIM, 32), nn.ReLU(), nn.Linear(32, N_CLASSES))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)


def per_class_recall(loader):
    hits = torch.zeros(N_CLASSES)
    seen = torch.zeros(N_CLASSES)
    total = 0.0
    with torch.no_grad():
        for xb, yb in loader:
            out = model(xb)
            total += F.cross_entropy(out, yb, reduction="sum").item()
            pred = out.argmax(1)
            seen += torch.bincount(yb, minlength=N_CLASSES).float()
            hits += torch.bincount(yb[pred == yb], minlength=N_CLASSES).float()
    return total / seen.sum().item(), hits / seen


loss, recall = per_class_recall(val_loader)
print(f"untrained | val loss {loss:.4f}")
for epoch in range(1, 9):
    drawn = torch.zeros(N_CLASSES)
    running = 0.0
    for xb, yb in balanced:
        drawn += torch.bincount(yb, minlength=N_CLASSES).float()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        running += loss.item()
    val_loss, recall = per_class_recall(val_loader)
    share = drawn / drawn.sum()
    print(f"epoch {epoch} | train loss {running / len(balanced):.4f} | val loss "
          f"{val_loss:.4f} | drawn share {share.min().item():.2f}-{share.max().item():.2f}")

test_loader = DataLoader(test_set, batch_size=50, collate_fn=stack_collate)
test_loss, recall = per_class_recall(test_loader)
print(f"test loss {test_loss:.4f} | recall per class "
      f"{', '.join(f'{r:.2f}' for r in recall.tolist())}")
