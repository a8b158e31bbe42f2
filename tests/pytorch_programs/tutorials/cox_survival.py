"""Cox proportional hazards on made-up censored survival data, written for the xpnn tests
after the usual DeepSurv-style recipe.

Subjects have five covariates; their event times are exponential with a hazard that grows
with exp(x @ beta) (one covariate acting non-linearly), censored by an independent
exponential clock and rounded to half-units, so many times tie. A small MLP gives each
subject a log-risk; the loss is the negative Breslow partial log-likelihood:
subjects are ordered by time with ``torch.argsort(descending=True)``, the log-sum of the
risks over each risk set is one ``torch.logcumsumexp``, and ties are grouped by
``torch.unique(return_inverse=True, return_counts=True)``: the events per distinct time by
``scatter_add_`` (checked against ``index_add_``), the risk set of a time read at the last
position of its group. Adam under ``torch.optim.lr_scheduler.ReduceLROnPlateau`` on the
validation loss. Harrell's concordance index is computed by broadcasting pairwise masks;
the Breslow baseline hazard (``index_add_``) gives survival curves read at time bins found
by ``torch.bucketize``.

    python tests/pytorch_programs/tutorials/cox_survival.py
"""
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_train, n_valid, d = 400, 200, 5
beta = np.array([0.8, -0.6, 0.0, 0.4, 0.0])


def make(count):
    x = rng.standard_normal((count, d))
    log_risk = x @ beta + 0.7 * np.sin(2.0 * x[:, 2])
    t_event = rng.exponential(1.0, count) / (0.2 * np.exp(log_risk))
    t_censor = rng.exponential(8.0, count)
    time = np.ceil(np.minimum(t_event, t_censor) * 2.0) / 2.0
    event = (t_event <= t_censor).astype(np.int64)
    return (torch.tensor(x, dtype=torch.float32, device=device),
            torch.tensor(time, dtype=torch.float32, device=device),
            torch.tensor(event, device=device))


x_train, t_train, e_train = make(n_train)
x_valid, t_valid, e_valid = make(n_valid)
print(f'train {tuple(x_train.shape)}, events {e_train.sum().item()}, '
      f'distinct times {torch.unique(t_train).numel()}')


def breslow_nll(log_risk, time, event):
    """Negative Breslow partial log-likelihood, averaged over the events."""
    order = torch.argsort(time, descending=True)
    eta, t, e = log_risk[order], time[order], event[order]
    log_cum = torch.logcumsumexp(eta, dim=0)          # log sum over T_j >= T_i (and ties before)
    times, inverse, counts = torch.unique(t, return_inverse=True, return_counts=True)
    deaths = torch.zeros(len(times), device=eta.device).scatter_add_(0, inverse, e.float())
    check = torch.zeros(len(times), device=eta.device).index_add_(0, inverse, e.float())
    assert torch.equal(deaths, check)
    # times ascend; in the descending order the group of times[k] ends at the number of
    # subjects with T >= times[k], minus one
    at_risk = counts.flip(0).cumsum(0).flip(0)
    log_risk_set = log_cum[at_risk - 1]
    ll = (eta * e).sum() - (deaths * log_risk_set).sum()
    return -ll / e.sum()


def concordance(log_risk, time, event):
    """Harrell's C: of the pairs where the earlier time is an event, how often its risk is
    higher (ties in risk count a half)."""
    comparable = (time[:, None] < time[None, :]) & (event[:, None] == 1)
    higher = (log_risk[:, None] > log_risk[None, :]) & comparable
    tied = (log_risk[:, None] == log_risk[None, :]) & comparable
    return ((higher.float().sum() + 0.5 * tied.float().sum()) / comparable.float().sum())


def baseline_hazard(log_risk, time, event):
    """Breslow's baseline cumulative hazard at each distinct event time."""
    times, inverse = torch.unique(time, return_inverse=True)
    deaths = torch.zeros(len(times), device=time.device).index_add_(0, inverse, event.float())
    risk_sum = torch.zeros(len(times), device=time.device).index_add_(0, inverse,
                                                                      log_risk.exp())
    at_risk = risk_sum.flip(0).cumsum(0).flip(0)
    return times, torch.cumsum(deaths / at_risk, 0)


model = nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.5,
                                                       patience=2)

with torch.no_grad():
    true_risk = torch.tensor(x_valid.cpu().numpy() @ beta, dtype=torch.float32,
                             device=device)
    print(f'oracle linear concordance {concordance(true_risk, t_valid, e_valid).item():.4f}')

for step in range(1, 121):
    model.train()
    optimizer.zero_grad()
    loss = breslow_nll(model(x_train).squeeze(1), t_train, e_train)
    loss.backward()
    optimizer.step()
    if step % 10 == 0:
        model.eval()
        with torch.no_grad():
            risk = model(x_valid).squeeze(1)
            valid = breslow_nll(risk, t_valid, e_valid)
            c_index = concordance(risk, t_valid, e_valid)
        scheduler.step(valid)
        print(f'step {step:3d} | train nll {loss.item():.4f} | valid nll {valid.item():.4f} | '
              f'c-index {c_index.item():.4f} | lr {optimizer.param_groups[0]["lr"]:.4f}')

with torch.no_grad():
    risk_train = model(x_train).squeeze(1)
    times, cum_hazard = baseline_hazard(risk_train, t_train, e_train)
    edges = torch.tensor([1.0, 2.0, 4.0, 8.0], device=device)
    bins = torch.bucketize(t_valid, edges)
    print('subjects per time bin', torch.bincount(bins, minlength=len(edges) + 1).tolist())
    # the cumulative hazard at each edge: the last distinct time at or before it
    last = torch.bucketize(edges, times, right=True) - 1
    h0 = torch.where(last >= 0, cum_hazard[last.clamp(min=0)], torch.zeros_like(edges))
    risk = model(x_valid).squeeze(1)
    survival = torch.exp(-h0[None, :] * risk.exp()[:, None])          # (subjects, edges)
    for k, edge in enumerate(edges.tolist()):
        print(f'S({edge:.0f}) mean {survival[:, k].mean().item():.4f} | '
              f'observed alive {(t_valid > edge).float().mean().item():.4f}')
