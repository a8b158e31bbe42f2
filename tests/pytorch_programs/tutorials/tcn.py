"""A temporal convolutional network (Bai, Kolter and Koltun, 2018) on the adding problem,
written for the xpnn tests after the paper's code (locuslab/TCN): each sequence has two
channels, random values in [0, 1) and a marker that is 1 at two positions; the target is the
sum of the two marked values. Predicting the mean (1.0) scores an MSE of 1/6, the baseline
to beat.

Each residual block holds two dilated causal ``nn.Conv1d`` layers under
``torch.nn.utils.parametrizations.weight_norm``, each fed by ``F.pad`` on the left only (so
no output sees the future), ReLU and ``nn.Dropout``, plus a 1x1 convolution as the
downsample of the residual where the channel count changes; the dilations double from block
to block. The head is a ``nn.Linear`` under the older ``nn.utils.weight_norm`` hook, on the
last time step. Adam with gradient clipping; the test MSE is printed against the baseline.

    python tests/pytorch_programs/tutorials/tcn.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def adding_problem(n, seq_len, rng):
    values = rng.random((n, seq_len))
    marker = np.zeros((n, seq_len))
    for i in range(n):
        first, second = rng.choice(seq_len, size=2, replace=False)
        marker[i, first] = marker[i, second] = 1.0
    x = np.stack([values, marker], axis=1)
    y = (values * marker).sum(axis=1, keepdims=True)
    return torch.from_numpy(x).float(), torch.from_numpy(y).float()


rng = np.random.default_rng(0)
seq_len = 24
x_train, y_train = adding_problem(1024, seq_len, rng)
x_test, y_test = adding_problem(512, seq_len, rng)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
baseline = F.mse_loss(torch.ones_like(y_test), y_test).item()
print(f'inputs {tuple(x_train.shape)}, trivial baseline mse {baseline:.4f}')


class TemporalBlock(nn.Module):
    def __init__(self, n_inputs, n_outputs, kernel_size, dilation, dropout=0.1):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(n_outputs, n_outputs, kernel_size,
                                           dilation=dilation))
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None

    def forward(self, x):
        out = self.dropout1(F.relu(self.conv1(F.pad(x, (self.pad, 0)))))
        out = self.dropout2(F.relu(self.conv2(F.pad(out, (self.pad, 0)))))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(out + res)


class TCN(nn.Module):
    def __init__(self, n_inputs, channels, kernel_size=3, dropout=0.1):
        super().__init__()
        layers = []
        for i, n_out in enumerate(channels):
            n_in = n_inputs if i == 0 else channels[i - 1]
            layers.append(TemporalBlock(n_in, n_out, kernel_size, 2 ** i, dropout))
        self.network = nn.Sequential(*layers)
        self.head = nn.utils.weight_norm(nn.Linear(channels[-1], 1))

    def forward(self, x):
        return self.head(self.network(x)[:, :, -1])


model = TCN(2, [24, 24, 24], dropout=0.05).to(device)
receptive = 1 + 2 * (3 - 1) * sum(2 ** i for i in range(3))
print(f'receptive field {receptive} steps, '
      f'{sum(p.numel() for p in model.parameters())} parameters')
print('block 0 conv1 parametrized:', nn.utils.parametrize.is_parametrized(
    model.network[0].conv1, 'weight'), list(model.network[0].conv1.parametrizations.weight
                                                .original1.shape))
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)


def evaluate():
    model.eval()
    with torch.no_grad():
        return F.mse_loss(model(x_test.to(device)), y_test.to(device)).item()


print(f'before training | test mse {evaluate():.4f}')
for epoch in range(1, 9):
    model.train()
    total, count = 0.0, 0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item() * xb.shape[0]
        count += xb.shape[0]
    test_mse = evaluate()
    print(f'epoch {epoch} | train mse {total / count:.4f} | test mse {test_mse:.4f} | '
          f'{"below" if test_mse < baseline else "above"} the baseline')

g = model.network[0].conv1.parametrizations.weight.original0
print(f'weight_norm magnitudes of block 0 conv1: shape {tuple(g.shape)}, '
      f'mean {g.abs().mean().item():.4f}; head weight_g {tuple(model.head.weight_g.shape)}')
