"""Post-training int8 quantization of an MLP by hand, then quantization-aware fine-tuning
with a straight-through estimator, written for the xpnn tests on made-up spiral data.

Weights are quantized symmetrically per output channel: the scale is the row's absolute
maximum (``w.abs().amax(dim=1, keepdim=True)``) over 127, the integer weights are
``torch.clamp(torch.round(w / scale), -128, 127).to(torch.int8)``, and dequantization is
``q.float() * scale``. Activations entering each layer are quantized per tensor the same
way from a calibration batch's ``amax`` (kept in a buffer). An ``nn.Linear`` subclass runs
either in float, in fake-quantized mode (``F.linear`` on dequantized weights and inputs) or
in QAT mode, where the rounding is bypassed in the backward pass by the straight-through
estimator ``x + (q - x).detach()``. Accuracy in float, after post-training quantization at
8 and at 3 bits, and after a quantization-aware fine-tune at 3 bits; the int8 weights go
into a state dict and back.

    python tests/pytorch_programs/tutorials/int8_quantized_linear.py
"""
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)
rng = np.random.default_rng(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def spirals(count, classes=3):
    label = rng.integers(0, classes, size=count)
    r = rng.uniform(0.1, 1.0, size=count)
    theta = 4.0 * r + 2 * math.pi * label / classes + rng.normal(0, 0.15, size=count)
    pts = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return (torch.tensor(pts, dtype=torch.float32, device=device),
            torch.tensor(label, device=device))


train_x, train_y = spirals(1024)
test_x, test_y = spirals(512)


def quantize(t, scale, bits):
    top = 2 ** (bits - 1) - 1
    return torch.clamp(torch.round(t / scale), -top - 1, top)


def ste(t, q):
    """the quantized value forwards, the identity's gradient backwards."""
    return t + (q - t).detach()


class QuantLinear(nn.Linear):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer('act_max', torch.ones(()))
        self.mode, self.bits = 'float', 8

    def weight_scale(self):
        top = 2 ** (self.bits - 1) - 1
        return self.weight.detach().abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / top

    def forward(self, x):
        if self.mode == 'calibrate':
            self.act_max = torch.maximum(self.act_max, x.detach().abs().amax())
            return super().forward(x)
        if self.mode == 'float':
            return super().forward(x)
        top = 2 ** (self.bits - 1) - 1
        w_scale, x_scale = self.weight_scale(), self.act_max / top
        w_q = quantize(self.weight, w_scale, self.bits) * w_scale
        x_q = quantize(x, x_scale, self.bits) * x_scale
        if self.mode == 'qat':
            w_q, x_q = ste(self.weight, w_q), ste(x, x_q)
        return F.linear(x_q, w_q, self.bias)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([QuantLinear(2, 64), QuantLinear(64, 64),
                                     QuantLinear(64, 3)])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x

    def set_mode(self, mode, bits=8):
        for layer in self.layers:
            layer.mode, layer.bits = mode, bits


def accuracy(model):
    model.eval()
    with torch.no_grad():
        return (model(test_x).argmax(dim=1) == test_y).float().mean().item()


def train(model, epochs, lr, tag):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f'{tag} epoch {epoch} | loss {total / len(loader):.4f} '
              f'| test acc {accuracy(model):.3f}')


model = MLP().to(device)
train(model, 10, 1e-2, 'float')
float_acc = accuracy(model)

# calibration: the largest absolute input each layer sees on a training batch
for layer in model.layers:
    layer.act_max = torch.zeros(())
model.set_mode('calibrate')
with torch.no_grad():
    model(train_x[:256])
print('activation ranges:', [round(layer.act_max.item(), 4) for layer in model.layers])

# int8 weights stored and restored by a state dict
packed = {}
for i, layer in enumerate(model.layers):
    layer.bits = 8
    scale = layer.weight_scale()
    packed[f'{i}.q'] = quantize(layer.weight.detach(), scale, 8).to(torch.int8)
    packed[f'{i}.scale'] = scale
buffer = io.BytesIO()
torch.save(packed, buffer)
buffer.seek(0)
loaded = torch.load(buffer)
q0 = loaded['0.q']
print('int8 weights:', q0.dtype, tuple(q0.shape), 'range', q0.min().item(), q0.max().item())
# the rounding error of each weight is at most half of its row's step
within = all(bool(((loaded[f'{i}.q'].float() * loaded[f'{i}.scale'] - layer.weight.detach())
                   .abs() <= loaded[f'{i}.scale'] / 2 * 1.0001).all())
             for i, layer in enumerate(model.layers))
print(f'dequantization error within half a step: {within}')

for bits in (8, 3):
    model.set_mode('fake', bits)
    print(f'post-training {bits}-bit accuracy {accuracy(model):.3f} (float {float_acc:.3f})')

ptq3 = accuracy(model)
model.set_mode('qat', 3)
train(model, 4, 2e-3, 'qat')
model.set_mode('fake', 3)
print(f'3-bit accuracy: post-training {ptq3:.3f}, after QAT {accuracy(model):.3f}')
