"""Keyword-like classification of synthetic sounds through ``torch.stft``, written small for
the xpnn tests after the usual audio-classification recipe (a log power spectrogram into a
small convolutional network), on made-up data.

Four classes of one-second clips at 2 kHz (2048 samples): a rising chirp, a falling chirp,
a steady tone and a pair of tones, with random frequencies, phases and amplitudes drawn by
NumPy, and Gaussian noise from ``torch.randn``. Each clip goes through
``torch.stft(x, n_fft, hop_length, window=torch.hann_window(n_fft), return_complex=True)``;
``spec.abs() ** 2`` is the power spectrogram and ``torch.log1p`` its compressed form, which a
Conv1d network (frequency bins as channels, BatchNorm1d, dropout, global average pooling)
classifies under Adam. The test loss and accuracy are printed per epoch, and the clips are
rebuilt from their complex spectrograms by ``torch.istft`` with the same window (the maximum
reconstruction error printed), as is the power in each class's mean spectrum.

    python tests/pytorch_programs/tutorials/audio_stft.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

sample_rate, length, n_fft, hop = 2048, 2048, 128, 64
classes = ['rising chirp', 'falling chirp', 'steady tone', 'two tones']


def make_clip(label):
    t = np.arange(length) / sample_rate
    f0, f1 = rng.uniform(100, 300), rng.uniform(600, 900)
    phase = rng.uniform(0, 2 * math.pi)
    if label == 0:
        freq = f0 + (f1 - f0) * t
    elif label == 1:
        freq = f1 + (f0 - f1) * t
    elif label == 2:
        freq = np.full_like(t, rng.uniform(200, 800))
    else:
        freq = None
    if freq is None:
        clip = np.sin(2 * math.pi * f0 * t + phase) + np.sin(2 * math.pi * f1 * t)
    else:
        clip = np.sin(2 * math.pi * np.cumsum(freq) / sample_rate + phase)
    return rng.uniform(0.5, 1.0) * clip


def make_set(count):
    labels = np.arange(count) % len(classes)
    clips = torch.from_numpy(np.stack([make_clip(y) for y in labels])).float()
    return clips + 0.3 * torch.randn(count, length), torch.from_numpy(labels)


train_x, train_y = make_set(256)
test_x, test_y = make_set(96)
window = torch.hann_window(n_fft)


def log_power(x):
    spec = torch.stft(x, n_fft, hop_length=hop, window=window.to(x.device),
                      return_complex=True)
    return torch.log1p(spec.abs() ** 2)


spec = torch.stft(train_x[:2], n_fft, hop_length=hop, window=window, return_complex=True)
print(f'clips {tuple(train_x.shape)} -> spectrogram {tuple(spec.shape)} {spec.dtype}, '
      f'power {tuple(log_power(train_x[:2]).shape)}')
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


class SpectrogramNet(nn.Module):
    def __init__(self, bins=n_fft // 2 + 1, n_classes=len(classes)):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(bins, 32, kernel_size=3, padding=1, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Conv1d(32, 32, kernel_size=3, padding=1, bias=False), nn.BatchNorm1d(32), nn.ReLU())
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(32, n_classes)

    def forward(self, x):
        h = self.features(log_power(x))
        return self.head(self.dropout(h.mean(dim=-1)))


model = SpectrogramNet().to(device)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

for epoch in range(1, 7):
    model.train()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        test_loss = F.cross_entropy(logits, test_y.to(device)).item()
        correct = (logits.argmax(1) == test_y.to(device)).sum().item()
    print(f'epoch {epoch} | train loss {loss.item():.4f} | test loss {test_loss:.4f} | '
          f'accuracy {correct}/{len(test_y)}')

with torch.no_grad():
    spec = torch.stft(test_x, n_fft, hop_length=hop, window=window, return_complex=True)
    rebuilt = torch.istft(spec, n_fft, hop_length=hop, window=window, length=length)
    err = float((rebuilt - test_x).abs().max())
    power = spec.abs().pow(2)
    for c, name in enumerate(classes):
        mean_spec = power[test_y == c].mean(dim=(0, 2))
        peak = mean_spec.argmax().item()
        print(f'{name:>13}: peak bin {peak} ({peak * sample_rate / n_fft:.0f} Hz), '
              f'power {mean_spec.sum().item():.1f}')
print(f'istft reconstruction max error {err:.2e} (ok: {err < 1e-4})')
print(f'real/imag of bin 5, frame 3: {spec.real[0, 5, 3].item():.4f} '
      f'{spec.imag[0, 5, 3].item():.4f}, angle {spec[0, 5, 3].angle().item():.4f}')
