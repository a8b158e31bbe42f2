"""Variable-length sequence classification with a packed bidirectional GRU, written for the
xpnn tests on 200 made-up sequences of 4 to 16 noisy 3-d steps in 3 classes: a rising
ramp, a falling ramp, and a sine burst, each at its own random scale.

A ``collate_fn`` pads each batch with ``nn.utils.rnn.pad_sequence(batch_first=True)`` and
returns the lengths; the model packs the padded batch with
``pack_padded_sequence(enforce_sorted=False)``, runs a 2-layer bidirectional GRU with dropout
between the layers, unpacks with ``pad_packed_sequence``, mean-pools the outputs under a mask
made from the lengths (``torch.arange(T)[None] < lengths[:, None]``), and concatenates the
pooled outputs with the last layer's final hidden states of both directions (``h_n[-2]`` and
``h_n[-1]``) for the classifier. Test loss and accuracy are printed per epoch, then the
accuracy by sequence length and a check that padding a batch further changes nothing.

    python tests/pytorch_programs/tutorials/packed_gru.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader

torch.manual_seed(2)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def make_sequence(label, length):
    t = torch.linspace(0, 1, length)
    scale = 0.5 + torch.rand(1)
    if label == 0:
        signal = t
    elif label == 1:
        signal = 1 - t
    else:
        signal = 0.5 + 0.5 * torch.sin(6.28 * 2 * t)
    channels = torch.stack([signal, signal ** 2, torch.ones_like(t)], dim=1) * scale
    return channels + 0.6 * torch.randn(length, 3)


def make_dataset(n):
    lengths = torch.randint(4, 17, (n,))
    return [(make_sequence(i % 3, lengths[i].item()), i % 3) for i in range(n)]


train_data, test_data = make_dataset(200), make_dataset(120)


def collate(batch):
    sequences = [s for s, _ in batch]
    lengths = torch.tensor([len(s) for s in sequences])
    padded = pad_sequence(sequences, batch_first=True)
    labels = torch.tensor([label for _, label in batch])
    return padded, lengths, labels


train_loader = DataLoader(train_data, batch_size=25, shuffle=True, collate_fn=collate)
test_loader = DataLoader(test_data, batch_size=60, collate_fn=collate)


class PackedGRUClassifier(nn.Module):
    def __init__(self, features=3, hidden=16, classes=3):
        super().__init__()
        self.gru = nn.GRU(features, hidden, num_layers=2, batch_first=True,
                          bidirectional=True, dropout=0.2)
        self.head = nn.Sequential(nn.Linear(4 * hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, classes))

    def forward(self, padded, lengths):
        packed = pack_padded_sequence(padded, lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        output, h_n = self.gru(packed)
        output, out_lengths = pad_packed_sequence(output, batch_first=True)
        T = output.size(1)
        mask = (torch.arange(T, device=padded.device)[None] < lengths[:, None]).unsqueeze(-1)
        pooled = (output * mask).sum(dim=1) / lengths[:, None].to(output.dtype)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)
        return self.head(torch.cat([pooled, last], dim=1))


def evaluate(model):
    model.eval()
    loss, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for padded, lengths, labels in test_loader:
            padded, lengths, labels = padded.to(device), lengths.to(device), labels.to(device)
            logits = model(padded, lengths)
            loss += F.cross_entropy(logits, labels, reduction='sum').item()
            correct += (logits.argmax(1) == labels).sum().item()
            total += labels.size(0)
    return loss / total, correct / total


model = PackedGRUClassifier().to(device)
print(model)
padded, lengths, labels = next(iter(test_loader))
print(f'batch {tuple(padded.shape)}, lengths {lengths[:8].tolist()}, '
      f'labels {labels[:8].tolist()}')
packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
print(f'packed data {tuple(packed.data.shape)}, batch sizes {packed.batch_sizes[:6].tolist()}, '
      f'first sorted indices {packed.sorted_indices[:6].tolist()}')

optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(1, 6):
    model.train()
    running, seen = 0.0, 0
    for padded, lengths, labels in train_loader:
        padded, lengths, labels = padded.to(device), lengths.to(device), labels.to(device)
        loss = F.cross_entropy(model(padded, lengths), labels)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running += loss.item() * labels.size(0)
        seen += labels.size(0)
    test_loss, test_acc = evaluate(model)
    print(f'epoch {epoch} | train loss {running / seen:.4f} | test loss {test_loss:.4f} '
          f'| test accuracy {test_acc:.3f}')

model.eval()
short = long_ = short_n = long_n = 0
with torch.no_grad():
    for padded, lengths, labels in test_loader:
        hit = model(padded, lengths).argmax(1) == labels
        short += hit[lengths <= 9].sum().item()
        short_n += (lengths <= 9).sum().item()
        long_ += hit[lengths > 9].sum().item()
        long_n += (lengths > 9).sum().item()
    print(f'accuracy on lengths <= 9: {short / short_n:.3f} ({short_n} sequences), '
          f'> 9: {long_ / long_n:.3f} ({long_n} sequences)')
    padded, lengths, labels = next(iter(test_loader))
    wider = F.pad(padded, (0, 0, 0, 5))
    same = torch.allclose(model(padded, lengths), model(wider, lengths), atol=1e-6)
    print(f'extra padding changes nothing: {same}')
