"""Keyword spotting on made-up audio, written for the xpnn tests: 192 waveforms of half a
second at 1 kHz, each a sine chirp of one of 4 "words" (its start frequency and sweep rate,
jittered) under noise.

The features are a log-magnitude spectrogram computed by hand: the waveform, padded by
reflection at both ends (``F.pad(mode='reflect')``), is cut into overlapping frames with
``Tensor.unfold``, each frame weighted by ``torch.hann_window`` and multiplied by a fixed
DFT matrix (cosine and sine bases built with torch ops, no torch.fft), then normalised by
the training set's statistics. A Conv1d + BatchNorm1d network over time
with AdaptiveAvgPool1d classifies it; Adam under OneCycleLR, accuracy and a confusion matrix
on held-out clips.

    python tests/pytorch_programs/tutorials/keyword_spotting.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

sample_rate, n_samples = 1000, 512
n_classes, n_per_class = 4, 48
frame_length, hop_length = 64, 32
n_freqs = frame_length // 2 + 1

# each class is a chirp: frequency f0 + sweep * t (Hz), jittered per clip by 10%
f0 = torch.tensor([50.0, 120.0, 200.0, 300.0])
sweep = torch.tensor([200.0, -100.0, 300.0, -250.0])
labels = torch.arange(n_classes).repeat_interleave(n_per_class)
t = torch.arange(n_samples) / sample_rate
jitter = 1 + 0.1 * torch.randn(len(labels), 1)
phase = 2 * math.pi * (f0[labels].unsqueeze(1) * jitter * t
                       + 0.5 * sweep[labels].unsqueeze(1) * t ** 2)
waveforms = torch.sin(phase) + 0.6 * torch.randn(len(labels), n_samples)


class LogSpectrogram(nn.Module):
    """|DFT(hann * frame)|^2 on a log scale, from a fixed real DFT matrix."""

    def __init__(self, frame_length, hop_length):
        super().__init__()
        self.frame_length, self.hop_length = frame_length, hop_length
        k = torch.arange(frame_length // 2 + 1, dtype=torch.float32).unsqueeze(1)
        n = torch.arange(frame_length, dtype=torch.float32).unsqueeze(0)
        angle = 2 * math.pi * k * n / frame_length
        self.register_buffer('window', torch.hann_window(frame_length))
        self.register_buffer('cos_basis', torch.cos(angle))
        self.register_buffer('sin_basis', -torch.sin(angle))

    def forward(self, wave):
        # centred frames, as torch.stft(center=True) pads: half a frame reflected at each end
        pad = self.frame_length // 2
        wave = F.pad(wave.unsqueeze(1), (pad, pad), mode='reflect').squeeze(1)
        frames = wave.unfold(-1, self.frame_length, self.hop_length) * self.window
        real = frames @ self.cos_basis.T
        imag = frames @ self.sin_basis.T
        return torch.log(real ** 2 + imag ** 2 + 1e-6).transpose(1, 2)  # (batch, freq, time)


spectrogram = LogSpectrogram(frame_length, hop_length).to(device)
with torch.no_grad():
    specs = spectrogram(waveforms.to(device))
print('waveforms', tuple(waveforms.shape), '-> spectrograms', tuple(specs.shape))

# a check of the DFT matrix: a pure 125 Hz tone peaks in bin 125 * 64 / 1000 = 8
tone = torch.sin(2 * math.pi * 125.0 * t).unsqueeze(0).to(device)
print('peak bin of a 125 Hz tone:', spectrogram(tone)[0].mean(dim=1).argmax().item())

is_test = torch.arange(len(labels)) % 4 == 0
train_x, train_y = specs[~is_test], labels[~is_test]
test_x, test_y = specs[is_test], labels[is_test]
mean, std = train_x.mean(dim=(0, 2), keepdim=True), train_x.std(dim=(0, 2), keepdim=True)
train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=16, shuffle=True)
test_loader = DataLoader(TensorDataset(test_x, test_y), batch_size=64)


class KeywordNet(nn.Module):
    def __init__(self, n_freqs, n_classes, channels=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(n_freqs, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
        )
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(channels, n_classes)

    def forward(self, x):
        x = self.features(x).squeeze(-1)
        return self.classifier(self.dropout(x))


model = KeywordNet(n_freqs, n_classes).to(device)
print(model)
epochs = 6
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=epochs,
                                                steps_per_epoch=len(train_loader))


def evaluate():
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for xb, yb in test_loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            total_loss += F.cross_entropy(logits, yb, reduction='sum').item()
            correct += (logits.argmax(dim=1) == yb).sum().item()
    return total_loss / len(test_y), correct


def confusion_matrix():
    model.eval()
    with torch.no_grad():
        pred = model(test_x.to(device)).argmax(dim=1).cpu()
    counts = torch.bincount(test_y * n_classes + pred, minlength=n_classes ** 2)
    return counts.view(n_classes, n_classes)


for epoch in range(1, epochs + 1):
    model.train()
    running = 0.0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        scheduler.step()
        running += loss.item() * len(xb)
    test_loss, correct = evaluate()
    print(f'epoch {epoch} | train loss {running / len(train_y):.4f} | test loss {test_loss:.4f} '
          f'| test accuracy {correct}/{len(test_y)} | lr {scheduler.get_last_lr()[0]:.5f}')

print('confusion matrix (rows: true word, columns: predicted):')
print(confusion_matrix())
