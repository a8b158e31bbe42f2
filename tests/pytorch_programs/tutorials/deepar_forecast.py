"""A DeepAR-style probabilistic forecaster (Salinas et al., 2020, "DeepAR: Probabilistic
Forecasting with Autoregressive Recurrent Networks"), written for the xpnn tests after the
paper's model, on made-up weekly-seasonal series: sixteen of counts and sixteen real-valued.

An LSTM reads, at each step, the lagged targets (lags 1 and 7, divided by the series' scale
as in the paper), day-of-week sin/cos covariates and a count/real flag, all put together by
``torch.stack``; training windows are cut from the history by ``Tensor.unfold``. Two output
heads turn the LSTM state into a ``torch.distributions.NegativeBinomial(total_count,
logits=...)`` for the count series (mean and dispersion made positive by ``F.softplus`` and
scaled by the series' mean) and a ``torch.distributions.StudentT`` for the real series
(degrees of freedom above 2 and a scale by ``F.softplus``); the loss is the negative
``log_prob``. Forecasts are ancestral: under ``torch.no_grad()`` the network reads the
context, then 20 sample paths per series are drawn step by step by ``.sample()``, each draw
fed back as the next lag. Quantiles come from ``torch.quantile(q, dim=...)``, the 80%
interval's coverage and the CRPS are estimated from the samples.

    python tests/pytorch_programs/tutorials/deepar_forecast.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import NegativeBinomial, StudentT
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

N_SERIES, T, HORIZON, WINDOW, N_PATHS = 16, 84, 7, 21, 20
LAGS = (1, 7)
t = np.arange(T)

# counts: a negative binomial around a weekly-seasonal level; reals: a seasonal trend plus
# Student-t noise
level = rng.uniform(2, 8, (N_SERIES, 1))
phase = rng.uniform(0, 2 * math.pi, (N_SERIES, 1))
rate = level * np.exp(0.6 * np.sin(2 * math.pi * t / 7 + phase))
counts = rng.negative_binomial(4, 4 / (4 + rate)).astype(np.float32)
trend = rng.uniform(-0.02, 0.02, (N_SERIES, 1))
reals = (3 + 1.5 * np.sin(2 * math.pi * t / 7 + phase) + trend * t
         + 0.3 * rng.standard_t(4, (N_SERIES, T))).astype(np.float32)

series = torch.tensor(np.concatenate([counts, reals]))            # (32, T)
is_count = torch.cat([torch.ones(N_SERIES), torch.zeros(N_SERIES)])
train_end = T - HORIZON
scale = 1 + series[:, :train_end].abs().mean(1)                     # the paper's scale
day = torch.arange(T, dtype=torch.float32) * (2 * math.pi / 7)


def features(values):
    """values (S, L) from time 0 -> inputs (S, L - 7, 5) for the steps 7..L-1."""
    steps = values.shape[1]
    lagged = [values[:, 7 - lag:steps - lag] / scale[:, None] for lag in LAGS]
    time = day[7:steps].expand(values.shape[0], -1)
    flag = is_count[:, None].expand(-1, steps - 7)
    return torch.stack(lagged + [torch.sin(time), torch.cos(time), flag], dim=-1)


class DeepAR(nn.Module):
    def __init__(self, n_inputs=5, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(n_inputs, hidden, num_layers=2, batch_first=True)
        self.count_head = nn.Linear(hidden, 2)
        self.real_head = nn.Linear(hidden, 3)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return out, state

    def count_dist(self, out, v):
        mean_raw, disp_raw = self.count_head(out).unbind(-1)
        mean = F.softplus(mean_raw) * v
        total_count = 1 / (F.softplus(disp_raw) + 1e-3)
        return NegativeBinomial(total_count, logits=torch.log(mean) - torch.log(total_count))

    def real_dist(self, out, v):
        df_raw, loc, scale_raw = self.real_head(out).unbind(-1)
        return StudentT(2 + F.softplus(df_raw), loc * v, F.softplus(scale_raw) * v + 1e-3)


def nll(model, x, y, v, flag):
    out, _ = model(x)
    v = v[:, None]
    count_rows, real_rows = flag == 1, flag == 0
    lp_count = model.count_dist(out[count_rows], v[count_rows]).log_prob(y[count_rows])
    lp_real = model.real_dist(out[real_rows], v[real_rows]).log_prob(y[real_rows])
    return -(lp_count.sum() + lp_real.sum()) / y.numel(), -lp_count.mean(), -lp_real.mean()


# training windows by unfold over the history
x_all = features(series[:, :train_end])                  # (S, train_end - 7, 5)
y_all = series[:, 7:train_end]
xw = x_all.unfold(1, WINDOW, 7).permute(0, 1, 3, 2)      # (S, n_windows, WINDOW, 5)
yw = y_all.unfold(1, WINDOW, 7)                          # (S, n_windows, WINDOW)
n_windows = xw.shape[1]
train_x = xw.reshape(-1, WINDOW, 5)
train_y = yw.reshape(-1, WINDOW)
train_v = scale.repeat_interleave(n_windows)
train_flag = is_count.repeat_interleave(n_windows)
print(f'series {tuple(series.shape)}, windows {tuple(train_x.shape)}, '
      f'count mean {series[:N_SERIES].mean().item():.3f}, real mean '
      f'{series[N_SERIES:].mean().item():.3f}')

model = DeepAR()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
loader = DataLoader(TensorDataset(train_x, train_y, train_v, train_flag), batch_size=32,
                    shuffle=True)
context_x = features(series[:, :train_end])


def holdout_nll():
    """One-step-ahead NLL on the horizon given the true lags (teacher forcing)."""
    with torch.no_grad():
        x = features(series)
        out, _ = model(x)
        out, y = out[:, -HORIZON:], series[:, -HORIZON:]
        v = scale[:, None]
        count_nll = -model.count_dist(out[:N_SERIES], v[:N_SERIES]).log_prob(y[:N_SERIES])
        real_nll = -model.real_dist(out[N_SERIES:], v[N_SERIES:]).log_prob(y[N_SERIES:])
        return count_nll.mean().item(), real_nll.mean().item()


count_nll, real_nll = holdout_nll()
print(f'untrained | holdout nll counts {count_nll:.4f} | reals {real_nll:.4f}')
for epoch in range(1, 9):
    total = 0.0
    for x, y, v, flag in loader:
        loss, _, _ = nll(model, x, y, v, flag)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        total += loss.item()
    count_nll, real_nll = holdout_nll()
    print(f'epoch {epoch} | train nll {total / len(loader):.4f} | holdout nll counts '
          f'{count_nll:.4f} | reals {real_nll:.4f}')


def forecast():
    """N_PATHS ancestral sample paths per series over the horizon: (S, N_PATHS, HORIZON)."""
    with torch.no_grad():
        _, state = model(context_x)
        state = tuple(s.repeat_interleave(N_PATHS, dim=1) for s in state)
        history = series[:, :train_end].repeat_interleave(N_PATHS, dim=0)
        v = scale.repeat_interleave(N_PATHS)
        flag = is_count.repeat_interleave(N_PATHS)
        count_rows = flag == 1
        for step in range(HORIZON):
            now = train_end + step
            lagged = [history[:, now - lag] / v for lag in LAGS]
            time = day[now].expand(history.shape[0])
            x = torch.stack(lagged + [torch.sin(time), torch.cos(time), flag], dim=-1)
            out, state = model(x[:, None], state)
            out = out[:, 0]
            draw = torch.empty(history.shape[0])
            draw[count_rows] = model.count_dist(out[count_rows], v[count_rows]).sample()
            draw[~count_rows] = model.real_dist(out[~count_rows], v[~count_rows]).sample()
            history = torch.cat([history, draw[:, None]], dim=1)
        return history[:, train_end:].reshape(-1, N_PATHS, HORIZON)


paths = forecast()
truth = series[:, -HORIZON:]
q = torch.quantile(paths, torch.tensor([0.1, 0.5, 0.9]), dim=1)     # (3, S, HORIZON)
covered = ((truth >= q[0]) & (truth <= q[2])).float()
crps = ((paths - truth[:, None]).abs().mean(1)
        - 0.5 * (paths[:, :, None] - paths[:, None]).abs().mean((1, 2)))
print(f'paths {tuple(paths.shape)}, counts are integers '
      f'{bool((paths[:N_SERIES] == paths[:N_SERIES].round()).all())}, non-negative '
      f'{bool((paths[:N_SERIES] >= 0).all())}')
for name, rows in (('counts', slice(0, N_SERIES)), ('reals', slice(N_SERIES, None))):
    mae = (q[1, rows] - truth[rows]).abs().mean().item()
    print(f'{name} | median mae {mae:.3f} | 80% coverage {covered[rows].mean().item():.3f} | '
          f'crps {crps[rows].mean().item():.3f}')
