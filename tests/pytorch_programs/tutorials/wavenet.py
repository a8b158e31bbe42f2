"""A small WaveNet (van den Oord et al., 2016, "WaveNet: A Generative Model for Raw Audio"),
written for the xpnn tests after the paper's architecture, on a made-up periodic signal.

The signal (two sines and a touch of noise) is mu-law companded, sign(x) log(1 + mu |x|) /
log(1 + mu) by ``torch.sign``, ``torch.log1p`` and ``torch.abs``, and quantized into 64
classes. The network: a causal 1x1 input convolution, then a stack of dilated causal
``nn.Conv1d`` layers (dilation 1, 2, 4, 8, kernel 2, left-padded by
``F.pad(x, (left, 0))``) whose output is split by ``torch.chunk(h, 2, dim=1)`` into a gated
unit ``torch.tanh(a) * torch.sigmoid(b)``; each layer adds a residual connection and a skip
output, and the skips summed over layers go through ReLU and 1x1 convolutions to 64 logits
per time step. ``nn.CrossEntropyLoss`` over (N, C, T) logits predicts the next sample.
After training, a few steps are generated autoregressively under ``torch.no_grad`` by
``torch.multinomial`` on ``F.softmax(logits / temperature)`` from a seeded
``torch.Generator``, and decoded back by the inverse mu-law.

    python tests/pytorch_programs/tutorials/wavenet.py
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

n_classes, seq_len = 64, 48
mu = n_classes - 1


def mu_law_encode(x):
    y = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).long().clamp(0, mu)


def mu_law_decode(q):
    y = 2 * q.float() / mu - 1
    return torch.sign(y) * ((1 + mu) ** torch.abs(y) - 1) / mu


def make_signals(count):
    t = np.arange(seq_len + 1, dtype=np.float32)
    period = rng.choice([8.0, 12.0, 16.0], size=(count, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=(count, 1)).astype(np.float32)
    wave = 0.6 * np.sin(2 * np.pi * t / period + phase) + 0.25 * np.sin(4 * np.pi * t / period)
    wave = wave + 0.02 * rng.standard_normal(wave.shape)
    return torch.from_numpy(wave.astype(np.float32))


train_q = mu_law_encode(make_signals(256))
test_q = mu_law_encode(make_signals(64))
roundtrip = (mu_law_decode(mu_law_encode(torch.linspace(-1, 1, 5))) * 100).round() / 100
print(f'mu-law round trip of linspace(-1, 1, 5): {roundtrip}')
print(f'mu-law classes: min {train_q.min().item()}, max {train_q.max().item()}, '
      f'dtype {train_q.dtype}, shape {tuple(train_q.shape)}')
loader = DataLoader(TensorDataset(train_q), batch_size=32, shuffle=True)


class CausalConv1d(nn.Conv1d):
    def __init__(self, in_channels, out_channels, kernel_size, dilation=1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left = (kernel_size - 1) * dilation

    def forward(self, x):
        return super().forward(F.pad(x, (self.left, 0)))


class ResidualLayer(nn.Module):
    def __init__(self, channels, skip_channels, dilation):
        super().__init__()
        self.dilated = CausalConv1d(channels, 2 * channels, 2, dilation=dilation)
        self.residual = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, skip_channels, 1)

    def forward(self, x):
        a, b = torch.chunk(self.dilated(x), 2, dim=1)
        h = torch.tanh(a) * torch.sigmoid(b)
        return x + self.residual(h), self.skip(h)


class WaveNet(nn.Module):
    def __init__(self, channels=24, skip_channels=32, dilations=(1, 2, 4, 8)):
        super().__init__()
        self.embed = nn.Embedding(n_classes, channels)
        self.input = CausalConv1d(channels, channels, 2)
        self.layers = nn.ModuleList(ResidualLayer(channels, skip_channels, d)
                                    for d in dilations)
        self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(skip_channels, skip_channels, 1),
                                 nn.ReLU(), nn.Conv1d(skip_channels, n_classes, 1))
        self.receptive_field = 2 + sum(dilations)

    def forward(self, q):
        x = self.input(self.embed(q).transpose(1, 2))
        skips = 0
        for layer in self.layers:
            x, s = layer(x)
            skips = skips + s
        return self.out(skips)


model = WaveNet().to(device)
print(f'receptive field {model.receptive_field}, '
      f'parameters {sum(p.numel() for p in model.parameters())}')
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_q[:, :-1].to(device))
        target = test_q[:, 1:].to(device)
        loss = criterion(logits, target).item()
        accuracy = (logits.argmax(1) - target).abs().le(1).float().mean().item()
    model.train()
    return loss, accuracy


loss, accuracy = evaluate()
print(f'untrained | test loss {loss:.4f} | within one class {accuracy:.3f}')
for epoch in range(1, 7):
    total = 0.0
    for (q,) in loader:
        q = q.to(device)
        logits = model(q[:, :-1])
        assert logits.shape == (q.shape[0], n_classes, seq_len)
        loss = criterion(logits, q[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, accuracy = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'within one class {accuracy:.3f}')

# autoregressive generation from a primer of one test signal
model.eval()
generator = torch.Generator(device=device).manual_seed(7)
primer = test_q[:4, :model.receptive_field].to(device)
generated = primer.clone()
temperature = 0.7
with torch.no_grad():
    for _ in range(12):
        logits = model(generated[:, -model.receptive_field:])[:, :, -1]
        probs = F.softmax(logits / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator)
        generated = torch.cat([generated, nxt], dim=1)
new = generated[:, model.receptive_field:]
truth = test_q[:4, model.receptive_field:model.receptive_field + 12].to(device)
print(f'generated {tuple(new.shape)} {new.dtype}, values in [{new.min().item()}, '
      f'{new.max().item()}]')
error = (mu_law_decode(new) - mu_law_decode(truth)).abs().mean().item()
print(f'generated mean abs error against the signal {error:.3f}')
