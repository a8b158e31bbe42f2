"""N-BEATS (Oreshkin et al., 2020, "N-BEATS: Neural basis expansion analysis for
interpretable time series forecasting"), written for the xpnn tests on made-up seasonal
series.

Each series is a level, a slow trend, two seasonal harmonics and noise; its windows of
``backcast + horizon`` points come from ``Tensor.unfold(0, size, step)``, the last ones of
each series held out for testing. Each window is scaled by the mean absolute value of its
input part.

The model stacks three kinds of block, each a fully connected trunk whose output theta is
expanded on a basis: a generic block (learned ``nn.Linear`` bases), a trend block (a
polynomial basis built from ``torch.arange`` powers, t ** i for i < degree) and a seasonality
block (a cos/sin basis of the harmonics of the window). Blocks are doubly residual: each one
removes its backcast from the input the next block sees and adds its forecast to the sum.

Training: ``TensorDataset`` + ``DataLoader(shuffle=True)``, Adam on the mean absolute error
under ``StepLR``, gradients clipped by ``torch.nn.utils.clip_grad_value_``. The test sMAPE
and MASE (scaled by the in-sample seasonal naive error) are printed per epoch, against the
seasonal naive forecast's.

    python tests/pytorch_programs/tutorials/nbeats_forecast.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_series, length, period = 12, 180, 12
backcast, horizon = 36, 12
steps = np.arange(length)
series = []
for _ in range(n_series):
    level = rng.uniform(5.0, 10.0)
    slope = rng.uniform(-0.02, 0.04)
    a1, a2 = rng.uniform(1.0, 3.0), rng.uniform(0.2, 1.0)
    phase = rng.uniform(0, 2 * math.pi)
    values = (level + slope * steps + a1 * np.sin(2 * math.pi * steps / period + phase)
              + a2 * np.cos(4 * math.pi * steps / period) + rng.normal(0, 0.3, length))
    series.append(values)
series = torch.tensor(np.array(series), dtype=torch.float32)

windows = torch.stack([s.unfold(0, backcast + horizon, 1) for s in series])  # (S, W, B+H)
n_test = 4
train_windows = windows[:, :-(n_test + horizon - 1)].reshape(-1, backcast + horizon)
test_windows = windows[:, -n_test:].reshape(-1, backcast + horizon)
print(f'series {tuple(series.shape)} | windows {tuple(windows.shape)} | train '
      f'{tuple(train_windows.shape)} | test {tuple(test_windows.shape)}')


def split(w):
    x, y = w[:, :backcast], w[:, backcast:]
    scale = x.abs().mean(dim=1, keepdim=True)
    return x / scale, y / scale, scale


train_x, train_y, _ = split(train_windows)
test_x, test_y, test_scale = split(test_windows)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)


class Block(nn.Module):
    def __init__(self, theta_size, hidden=64, layers=3):
        super().__init__()
        trunk = []
        for i in range(layers):
            trunk += [nn.Linear(backcast if i == 0 else hidden, hidden), nn.ReLU()]
        self.trunk = nn.Sequential(*trunk)
        self.theta = nn.Linear(hidden, theta_size, bias=False)

    def expand(self, theta):
        raise NotImplementedError

    def forward(self, x):
        return self.expand(self.theta(self.trunk(x)))


class GenericBlock(Block):
    def __init__(self, theta_size=16):
        super().__init__(theta_size)
        self.backcast_basis = nn.Linear(theta_size, backcast)
        self.forecast_basis = nn.Linear(theta_size, horizon)

    def expand(self, theta):
        return self.backcast_basis(theta), self.forecast_basis(theta)


class TrendBlock(Block):
    def __init__(self, degree=3):
        super().__init__(2 * degree)
        self.degree = degree
        t_back = torch.arange(backcast, dtype=torch.float32) / backcast
        t_fore = torch.arange(horizon, dtype=torch.float32) / horizon
        powers = torch.arange(degree, dtype=torch.float32).unsqueeze(1)
        self.register_buffer('back_basis', t_back.unsqueeze(0) ** powers)   # (degree, B)
        self.register_buffer('fore_basis', t_fore.unsqueeze(0) ** powers)   # (degree, H)

    def expand(self, theta):
        back_theta, fore_theta = theta.split(self.degree, dim=1)
        return back_theta @ self.back_basis, fore_theta @ self.fore_basis


class SeasonalityBlock(Block):
    def __init__(self, harmonics=4):
        super().__init__(4 * harmonics)
        k = torch.arange(1, harmonics + 1, dtype=torch.float32).unsqueeze(1)
        t_back = torch.arange(backcast, dtype=torch.float32) / period
        t_fore = torch.arange(backcast, backcast + horizon, dtype=torch.float32) / period
        self.register_buffer('back_basis', torch.cat([torch.cos(2 * math.pi * k * t_back),
                                                      torch.sin(2 * math.pi * k * t_back)]))
        self.register_buffer('fore_basis', torch.cat([torch.cos(2 * math.pi * k * t_fore),
                                                      torch.sin(2 * math.pi * k * t_fore)]))

    def expand(self, theta):
        back_theta, fore_theta = theta.chunk(2, dim=1)
        return back_theta @ self.back_basis, fore_theta @ self.fore_basis


class NBeats(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([TrendBlock(), TrendBlock(), SeasonalityBlock(),
                                     SeasonalityBlock(), GenericBlock()])

    def forward(self, x):
        residual = x
        forecast = torch.zeros(x.shape[0], horizon, device=x.device)
        for block in self.blocks:
            back, fore = block(residual)
            residual = residual - back
            forecast = forecast + fore
        return forecast


def smape(pred, target):
    return (200 * (pred - target).abs() / (pred.abs() + target.abs())).mean()


def mase(pred, target, x):
    naive_error = (x[:, period:] - x[:, :-period]).abs().mean(dim=1, keepdim=True)
    return ((pred - target).abs() / naive_error).mean()


naive = test_x[:, -period:].repeat(1, horizon // period)
print(f'seasonal naive | smape {smape(naive, test_y).item():.3f} | mase '
      f'{mase(naive, test_y, test_x).item():.3f}')

model = NBeats().to(device)
print(f'parameters {sum(p.numel() for p in model.parameters())}')
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

for epoch in range(1, 9):
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        loss = (model(xb) - yb).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
        optimizer.step()
        total += loss.item() * len(xb)
        count += len(xb)
    scheduler.step()
    model.eval()
    with torch.no_grad():
        pred = model(test_x)
        test_loss = (pred - test_y).abs().mean()
        s, m = smape(pred * test_scale, test_y * test_scale), mase(pred, test_y, test_x)
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | train mae {total / count:.4f} '
          f'| test mae {test_loss.item():.4f} | smape {s.item():.3f} | mase {m.item():.3f}')

with torch.no_grad():
    back_basis = model.blocks[0].back_basis
print(f'trend basis rows {back_basis[:, :4]}')
