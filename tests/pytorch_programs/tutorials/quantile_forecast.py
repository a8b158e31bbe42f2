"""Multi-horizon probabilistic forecasting by quantile regression, written small for the
xpnn tests after the usual recipe (an MQ-RNN-like encoder and a quantile head), on made-up
series: 16 series, each a sine cycle of period 12 of its own amplitude and phase plus a slow
trend and noise.

Training windows are cut from each series by ``Tensor.unfold`` (24 past steps, then 6 to
forecast, every second start); the series are scaled by the training part's statistics. A
GRU encodes the past; a Linear head predicts the 10%, 50% and 90% quantiles of the next 6
steps, trained on the pinball loss written with ``torch.maximum``. Adam with
``nn.utils.clip_grad_norm_`` and a StepLR. The baselines are the last value and the
seasonal naive forecast, with quantiles of their training residuals from ``torch.quantile``;
printed: pinball losses, the median's MAE and the coverage of the 10%-90% interval on the
held-out tail of every series.

    python tests/pytorch_programs/tutorials/quantile_forecast.py
"""
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(21)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

n_series, length, period = 16, 120, 12
past, horizon = 24, 6
quantiles = torch.tensor([0.1, 0.5, 0.9])
t = torch.arange(length, dtype=torch.float32)
amplitude = 1.0 + torch.randn(n_series, 1).abs()
phase = 2 * math.pi * torch.randn(n_series, 1)
trend = 0.004 * torch.randn(n_series, 1)
series = amplitude * torch.sin(2 * math.pi * t / period + phase) + trend * t \
    + 0.3 * torch.randn(n_series, length)

split = 96
mean = series[:, :split].mean()
std = series[:, :split].std()
scaled = (series - mean) / std


def windows(x):
    """(n, past) inputs and (n, horizon) targets of every window of x (n_series, T)."""
    w = x.unfold(1, past + horizon, 2).reshape(-1, past + horizon)
    return w[:, :past], w[:, past:]


train_x, train_y = windows(scaled[:, :split])
test_x, test_y = windows(scaled[:, split - past:])
print(f'windows: train {tuple(train_x.shape)} -> {tuple(train_y.shape)}, '
      f'test {tuple(test_x.shape)}')
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)


def pinball(pred, target):
    """pred (n, horizon, 3), target (n, horizon): the mean pinball loss over quantiles."""
    err = target.unsqueeze(-1) - pred
    q = quantiles.to(pred.device)
    return torch.maximum(q * err, (q - 1) * err).mean()


class QuantileForecaster(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + 1, hidden), nn.ReLU(),
                                  nn.Linear(hidden, horizon * len(quantiles)))

    def forward(self, x):
        _, h = self.gru(x.unsqueeze(-1))
        features = torch.cat([h[-1], x[:, -1:]], dim=1)
        out = self.head(features).view(-1, horizon, len(quantiles))
        # the median plus sorted offsets, so that the quantiles do not cross
        return x[:, -1:].unsqueeze(-1) + out.sort(dim=-1).values


def report(name, pred, target):
    loss = pinball(pred, target).item()
    mae = (pred[..., 1] - target).abs().mean().item() * std.item()
    inside = ((target >= pred[..., 0]) & (target <= pred[..., 2])).float().mean().item()
    print(f'{name:>15} | pinball {loss:.4f} | median mae {mae:.4f} | '
          f'80% interval coverage {inside:.3f}')
    return loss


# baselines: a point forecast plus quantiles of its training residuals, per horizon step
for name, point in (('last value', lambda x: x[:, -1:].expand(-1, horizon)),
                    ('seasonal naive', lambda x: x[:, -period:][:, :horizon])):
    residual_q = torch.quantile(train_y - point(train_x), quantiles, dim=0)  # (3, horizon)
    report(name, point(test_x).unsqueeze(-1) + residual_q.T, test_y)

model = QuantileForecaster().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
for epoch in range(1, 9):
    model.train()
    total, norms = 0.0, []
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = pinball(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item())
        optimizer.step()
        total += loss.item() * len(xb)
    scheduler.step()
    model.eval()
    with torch.no_grad():
        test_loss = pinball(model(test_x.to(device)), test_y.to(device)).item()
    print(f'epoch {epoch} | train pinball {total / len(train_x):.4f} | '
          f'test pinball {test_loss:.4f} | max grad norm {max(norms):.3f} | '
          f'lr {scheduler.get_last_lr()[0]:.5f}')

with torch.no_grad():
    pred = model(test_x.to(device))
report('gru quantiles', pred, test_y)
first = pred[0] * std + mean
print('first test window, step 1: '
      f'[{first[0, 0].item():.3f}, {first[0, 1].item():.3f}, {first[0, 2].item():.3f}] '
      f'(truth {(test_y[0, 0] * std + mean).item():.3f})')
