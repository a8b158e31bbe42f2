"""A variable-length sequence classifier fed through a real ``torch.utils.data`` pipeline,
written for the xpnn tests after the usual NLP/speech data recipes, on made-up sequences.

Each example is a sequence of 4 features and 6 to 30 steps; its class (one of 3) is the
feature with the largest mean over the sequence, under noise. The pieces:

* a map-style ``Dataset`` subclass whose ``__getitem__`` returns ``(tensor of its own
  length, label)``, two of them (short and long sequences) joined by ``ConcatDataset``;
* ``random_split(..., generator=torch.Generator().manual_seed(...))`` into train, validation
  and test, and a ``Subset`` for a quick overfitting check;
* a ``collate_fn`` padding by ``nn.utils.rnn.pad_sequence(batch_first=True)`` and returning
  the lengths;
* a ``Sampler`` subclass that buckets by length (indices sorted by a noisy length, cut into
  batches, batch order by ``torch.randperm`` with its own generator) fed to
  ``DataLoader(batch_sampler=...)``, against ``DataLoader(shuffle=True, generator=g,
  drop_last=True)``: how much of each batch is padding;
* ``pack_padded_sequence(enforce_sorted=False)`` into an ``nn.GRU``, masked mean pooling of
  the unpacked outputs plus the last hidden state, and a manual ``nn.GRUCell`` loop with the
  GRU's weights that must give the same last hidden state.

    python tests/pytorch_programs/tutorials/data_pipeline.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler, Subset, random_split

torch.manual_seed(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_features, n_classes = 4, 3


class SequenceDataset(Dataset):
    """``count`` sequences with lengths in [min_len, max_len]; the label is the feature (of
    the first three) whose mean is largest."""

    def __init__(self, count, min_len, max_len, seed):
        rng = np.random.default_rng(seed)
        self.sequences, self.labels = [], []
        for _ in range(count):
            length = int(rng.integers(min_len, max_len + 1))
            label = int(rng.integers(0, n_classes))
            seq = rng.normal(size=(length, n_features)).astype(np.float32)
            seq[:, label] += 0.35
            self.sequences.append(seq)
            self.labels.append(label)

    def __len__(self):
        return len(self.sequences)

    def __getitem__(self, index):
        return torch.from_numpy(self.sequences[index]), self.labels[index]


def collate(batch):
    sequences, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in sequences])
    return pad_sequence(sequences, batch_first=True), lengths, torch.tensor(labels)


class BucketSampler(Sampler):
    """Batches of indices of similar lengths, in a random order each epoch."""

    def __init__(self, lengths, batch_size, generator=None):
        self.lengths = torch.as_tensor(lengths, dtype=torch.float32)
        self.batch_size = batch_size
        self.generator = generator

    def __iter__(self):
        noisy = self.lengths + 3 * torch.rand(len(self.lengths), generator=self.generator)
        order = noisy.argsort()
        batches = list(order.split(self.batch_size))
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[i].tolist()

    def __len__(self):
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size


full = ConcatDataset([SequenceDataset(300, 6, 14, seed=0), SequenceDataset(200, 16, 30, seed=1)])
train_set, val_set, test_set = random_split(full, [0.7, 0.15, 0.15],
                                            generator=torch.Generator().manual_seed(0))
print(f'datasets: full {len(full)} (cumulative sizes {full.cumulative_sizes}), train '
      f'{len(train_set)}, val {len(val_set)}, test {len(test_set)}')
sample, label = train_set[0]
print(f'one example: {tuple(sample.shape)} {sample.dtype}, label {label}')

train_lengths = [len(train_set[i][0]) for i in range(len(train_set))]
bucket_loader = DataLoader(train_set, batch_sampler=BucketSampler(
    train_lengths, 32, generator=torch.Generator().manual_seed(1)), collate_fn=collate)
shuffle_loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True,
                            generator=torch.Generator().manual_seed(2), collate_fn=collate)
val_loader = DataLoader(val_set, batch_size=64, collate_fn=collate)
test_loader = DataLoader(test_set, batch_size=64, collate_fn=collate)
for name, loader in (('bucketed', bucket_loader), ('shuffled', shuffle_loader)):
    real = padded = 0
    for x, lengths, y in loader:
        real += lengths.sum().item()
        padded += x.shape[0] * x.shape[1]
    print(f'{name}: {len(loader)} batches, padding {1 - real / padded:.3f} of the steps')


class GRUClassifier(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, batch_first=True)
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.gru(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True)
        mask = (torch.arange(out.shape[1], device=x.device)[None, :]
                < lengths.to(x.device)[:, None]).unsqueeze(-1)
        pooled = (out * mask).sum(dim=1) / lengths.to(x.device).unsqueeze(1)
        return self.head(torch.cat([pooled, h_n[-1]], dim=1))


def evaluate(model, loader):
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, lengths, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x, lengths)
            total += F.cross_entropy(logits, y, reduction='sum').item()
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    model.train()
    return total / count, correct / count


model = GRUClassifier().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
val_loss, val_acc = evaluate(model, val_loader)
print(f'untrained | val loss {val_loss:.4f} | val accuracy {val_acc:.3f}')
for epoch in range(1, 5):
    loader = bucket_loader if epoch % 2 else shuffle_loader
    total, batches = 0.0, 0
    for x, lengths, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x, lengths), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
        batches += 1
    val_loss, val_acc = evaluate(model, val_loader)
    print(f'epoch {epoch} | train loss {total / batches:.4f} | val loss {val_loss:.4f} | '
          f'val accuracy {val_acc:.3f}')
test_loss, test_acc = evaluate(model, test_loader)
print(f'test loss {test_loss:.4f} | test accuracy {test_acc:.3f}')

# the packed GRU's last hidden state, again by a GRUCell stepping over the padded batch
cell = nn.GRUCell(n_features, model.gru.hidden_size).to(device)
with torch.no_grad():
    cell.weight_ih.copy_(model.gru.weight_ih_l0)
    cell.weight_hh.copy_(model.gru.weight_hh_l0)
    cell.bias_ih.copy_(model.gru.bias_ih_l0)
    cell.bias_hh.copy_(model.gru.bias_hh_l0)
    x, lengths, y = next(iter(test_loader))
    x = x.to(device)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, h_n = model.gru(packed)
    h = torch.zeros(x.shape[0], model.gru.hidden_size, device=device)
    for t in range(x.shape[1]):
        step = cell(x[:, t], h)
        h = torch.where((t < lengths.to(device)).unsqueeze(1), step, h)
print(f'GRUCell loop == packed GRU h_n: {torch.allclose(h, h_n[0], atol=1e-5)} '
      f'(sorted indices {packed.sorted_indices[:4].tolist()})')

# a small Subset the model should fit almost perfectly
small = Subset(train_set, list(range(48)))
overfit = GRUClassifier().to(device)
optimizer = torch.optim.Adam(overfit.parameters(), lr=2e-2)
small_loader = DataLoader(small, batch_size=16, shuffle=True,
                          generator=torch.Generator().manual_seed(3), collate_fn=collate)
for _ in range(12):
    for x, lengths, y in small_loader:
        loss = F.cross_entropy(overfit(x.to(device), lengths), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
small_loss, small_acc = evaluate(overfit, DataLoader(small, batch_size=48, collate_fn=collate))
print(f'subset of {len(small)} | loss {small_loss:.4f} | accuracy {small_acc:.3f}')
