"""Keyword spotting in the style of PyTorch's speech-command tutorials, written for the xpnn
tests on made-up "words": each of four keywords is a sequence of two or three tone segments
(its own pitch contour), with random onsets, gains and background noise.

Features: ``torch.stft`` with a ``torch.hann_window`` (center=True, return_complex=True), the
power spectrum ``.abs() ** 2``, a mel filterbank built by hand (mel points by
``torch.linspace`` converted to Hz, triangular filters from rising and falling ramps cut by
``torch.clamp``), applied by a matmul, then ``torch.log(mel + 1e-6)`` normalised by the
training set's mean and std. No SpecAugment.

Model: a CRNN: two ``Conv2d`` + ``BatchNorm2d`` + ``ReLU`` + ``MaxPool2d`` over
(mel, time), the channels and mel bins flattened per frame into a bidirectional ``nn.GRU``
(batch_first=True), mean-pooled over time into a linear classifier.
``nn.CrossEntropyLoss(label_smoothing=0.1)``; Adam under
``torch.optim.lr_scheduler.CosineAnnealingLR`` stepped per batch; a ``DataLoader`` with
``shuffle=True``.

    python tests/pytorch_programs/tutorials/speech_commands_stft.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

SR, LENGTH = 4000, 4000
N_FFT, HOP, N_MELS = 256, 64, 24
KEYWORDS = {'up': [300, 600], 'down': [600, 300], 'left': [400, 800, 400],
            'right': [800, 400, 800]}
NAMES = list(KEYWORDS)


def make_waves(count):
    waves = rng.normal(0.0, 0.05, (count, LENGTH)).astype(np.float32)
    labels = rng.integers(0, len(NAMES), count)
    t = np.arange(LENGTH) / SR
    for i, label in enumerate(labels):
        pitches = KEYWORDS[NAMES[label]]
        onset = int(rng.integers(0, LENGTH // 4))
        seg = int(rng.integers(600, 900))
        gain = rng.uniform(0.3, 1.0)
        for k, f in enumerate(pitches):
            start = onset + k * seg
            stop = min(start + seg, LENGTH)
            if start >= LENGTH:
                break
            f = f * rng.uniform(0.95, 1.05)
            env = np.hanning(seg)[:stop - start]
            waves[i, start:stop] += gain * env * np.sin(2 * math.pi * f * t[start:stop])
    return torch.from_numpy(waves), torch.from_numpy(labels)


def hz_to_mel(f):
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_fft, n_mels, sr, f_min=0.0, f_max=None):
    """(n_fft // 2 + 1, n_mels) triangular filters on the mel scale, as torchaudio's."""
    f_max = f_max or sr / 2
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1)
    m_pts = torch.linspace(hz_to_mel(torch.tensor(f_min)), hz_to_mel(torch.tensor(f_max)),
                           n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - freqs[:, None]                       # (bins, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down, up), min=0.0)


window = torch.hann_window(N_FFT)
fbank = mel_filterbank(N_FFT, N_MELS, SR)


def log_mel(waves):
    spec = torch.stft(waves, N_FFT, hop_length=HOP, win_length=N_FFT, window=window,
                      center=True, return_complex=True)                 # (B, bins, frames)
    power = spec.abs() ** 2
    mel = torch.matmul(power.transpose(1, 2), fbank).transpose(1, 2)   # (B, mels, frames)
    return torch.log(mel + 1e-6)


class CRNN(nn.Module):
    def __init__(self, n_mels, n_classes, channels=16, hidden=32):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.MaxPool2d((2, 1)),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.MaxPool2d((2, 2)))
        self.gru = nn.GRU(channels * (n_mels // 4), hidden, batch_first=True,
                          bidirectional=True)
        self.fc = nn.Linear(2 * hidden, n_classes)

    def forward(self, x):                       # (B, mels, frames)
        h = self.conv(x.unsqueeze(1))           # (B, C, mels / 4, frames / 2)
        h = h.flatten(1, 2).transpose(1, 2)     # (B, frames / 2, C * mels / 4)
        out, _ = self.gru(h)
        return self.fc(out.mean(dim=1))


train_w, train_y = make_waves(384)
test_w, test_y = make_waves(128)
train_f, test_f = log_mel(train_w), log_mel(test_w)
mean, std = train_f.mean(), train_f.std()
train_f, test_f = (train_f - mean) / std, (test_f - mean) / std
print(f'window sum {window.sum():.4f}, filterbank {tuple(fbank.shape)}, '
      f'empty filters {int((fbank.sum(0) == 0).sum())}')
print(f'features {tuple(train_f.shape)}, mean {train_f.mean():.4f}, std {train_f.std():.4f}')

loader = DataLoader(TensorDataset(train_f, train_y), batch_size=32, shuffle=True)
model = CRNN(N_MELS, len(NAMES)).to(device)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
epochs = 6
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_f.to(device))
        loss = criterion(logits, test_y.to(device)).item()
        correct = (logits.argmax(1) == test_y.to(device)).sum().item()
    model.train()
    return loss, correct


loss, correct = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {correct}/{len(test_y)}')
for epoch in range(1, epochs + 1):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item()
    loss, correct = evaluate()
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.6f} | train loss '
          f'{total / len(loader):.4f} | test loss {loss:.4f} | accuracy {correct}/{len(test_y)}')
