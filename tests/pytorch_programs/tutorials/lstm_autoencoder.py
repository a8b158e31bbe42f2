"""Sequence anomaly detection by an LSTM autoencoder, written small for the xpnn tests after
the LSTM encoder-decoder of Malhotra et al. (2016) and the usual reconstruction-error recipe,
on a made-up sensor signal: two sines of different periods plus noise, cut into windows of
24 steps.

The encoder (``nn.LSTM(batch_first=True)``) reads a window; its last hidden state goes
through a Linear to a code, which is repeated over the window's length
(``repeat_interleave`` on a time axis of one, or ``expand``) and read by a decoder LSTM whose
outputs a Linear maps back to the signal. Trained by Adam under ``F.mse_loss`` on normal
windows only; the per-window reconstruction errors of held-out normal windows give the
threshold ``torch.quantile(errors, 0.95)``. A test signal gets anomalies injected (spikes, a
flat segment, a level shift) and the windows above the threshold are flagged: precision and
recall against the injected ones are printed.

    python tests/pytorch_programs/tutorials/lstm_autoencoder.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
WINDOW = 24


def signal(n):
    t = np.arange(n)
    return (np.sin(2 * np.pi * t / 12) + 0.5 * np.sin(2 * np.pi * t / 40 + 1.0)
            + 0.1 * rng.standard_normal(n))


def windows(series, step):
    starts = range(0, len(series) - WINDOW + 1, step)
    return torch.tensor(np.stack([series[s:s + WINDOW] for s in starts]),
                        dtype=torch.float32).unsqueeze(-1)


class LSTMAutoencoder(nn.Module):
    def __init__(self, hidden=32, code=8):
        super().__init__()
        self.encoder = nn.LSTM(1, hidden, batch_first=True)
        self.to_code = nn.Linear(hidden, code)
        self.decoder = nn.LSTM(code, hidden, batch_first=True)
        self.output = nn.Linear(hidden, 1)

    def forward(self, x):
        _, (h, _) = self.encoder(x)
        z = torch.tanh(self.to_code(h[-1]))
        if self.training:
            z = z.unsqueeze(1).repeat_interleave(x.size(1), dim=1)
        else:
            z = z.unsqueeze(1).expand(-1, x.size(1), -1)
        out, _ = self.decoder(z)
        return self.output(out)


train = windows(signal(1600), 4)
val = windows(signal(800), 8)
loader = DataLoader(TensorDataset(train), batch_size=64, shuffle=True)
model = LSTMAutoencoder().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
print(model)
print(f'train windows {tuple(train.shape)}, validation windows {tuple(val.shape)}')


def window_errors(x):
    model.eval()
    with torch.no_grad():
        recon = model(x.to(device))
    return ((recon - x.to(device)) ** 2).mean(dim=(1, 2))


for epoch in range(1, 9):
    model.train()
    total, count = 0.0, 0
    for (x,) in loader:
        x = x.to(device)
        loss = F.mse_loss(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item() * x.size(0)
        count += x.size(0)
    val_loss = window_errors(val).mean().item()
    print(f'epoch {epoch} | train mse {total / count:.4f} | val mse {val_loss:.4f}')

errors = window_errors(val)
threshold = torch.quantile(errors, 0.95)
print(f'threshold (95th percentile of validation errors) {threshold.item():.4f}')

test = signal(960)
labels = np.zeros(len(test), dtype=bool)
for start in (100, 420, 700):
    test[start:start + 3] += 3.0
    labels[start:start + 3] = True
test[250:262] = test[250]
labels[250:262] = True
test[560:572] += 1.5
labels[560:572] = True
x_test = windows(test, 12)
truth = torch.tensor([labels[s:s + WINDOW].any() for s in range(0, len(test) - WINDOW + 1, 12)])
test_errors = window_errors(x_test)
flagged = (test_errors > threshold).cpu()
tp = (flagged & truth).sum().item()
fp = (flagged & ~truth).sum().item()
fn = (~flagged & truth).sum().item()
precision = tp / max(tp + fp, 1)
recall = tp / max(tp + fn, 1)
print(f'test windows {len(truth)}, anomalous {truth.sum().item()}, flagged {flagged.sum().item()}')
print(f'precision {precision:.3f} | recall {recall:.3f}')
worst = torch.topk(test_errors, 3)
print(f'worst windows {worst.indices.tolist()} with errors '
      f'{[round(e, 4) for e in worst.values.tolist()]}')
