"""Split conformal prediction for a classifier and a regressor, written for the xpnn tests on
made-up data.

(a) Classification: a small MLP is trained on 5 noisy classes; on a held-out calibration
split the score is ``1 - softmax[true class]`` and the threshold is the
``ceil((n + 1)(1 - alpha)) / n`` quantile by ``torch.quantile(..., interpolation="higher")``,
checked against ``torch.kthvalue``. Prediction sets are every class whose score is under
the threshold. Adaptive prediction sets (APS, Romano et al. 2020) sort the probabilities by
``torch.sort(descending=True, stable=True)``, take ``cumsum``, and break ties by
``torch.rand(generator=g)`` (randomised APS); the sets go back to class order by
``scatter``.

(b) Regression: conformalized quantile regression (CQR) on heteroscedastic data: an MLP with
two outputs (the 5% and 95% quantiles) trained under a pinball loss, calibrated by
``max(lo - y, y - hi)`` scores.

Empirical coverage on a test split and the average set size / interval width are printed.

    python tests/pytorch_programs/tutorials/conformal_prediction.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
alpha = 0.1

# -- (a) classification -------------------------------------------------------------------
C, D = 5, 10
centres = rng.standard_normal((C, D)) * 1.2


def make_classes(n):
    y = rng.integers(0, C, n)
    x = centres[y] + rng.standard_normal((n, D)) * 1.5
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)


x_tr, y_tr = make_classes(600)
x_cal, y_cal = make_classes(400)
x_te, y_te = make_classes(500)

clf = nn.Sequential(nn.Linear(D, 32), nn.ReLU(), nn.Linear(32, C))
opt = torch.optim.Adam(clf.parameters(), lr=0.01)
for epoch in range(5):
    perm = torch.arange(len(x_tr)).reshape(-1, 50)
    total = 0.0
    for idx in perm:
        loss = F.cross_entropy(clf(x_tr[idx]), y_tr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    print(f'classifier epoch {epoch} | train loss {total / len(perm):.4f}')

with torch.no_grad():
    p_cal = clf(x_cal).softmax(dim=1)
    p_te = clf(x_te).softmax(dim=1)
print(f'test accuracy {(p_te.argmax(1) == y_te).float().mean().item():.3f}')

n = len(y_cal)
scores = 1 - p_cal.gather(1, y_cal[:, None]).squeeze(1)
level = math.ceil((n + 1) * (1 - alpha)) / n
qhat = torch.quantile(scores, level, interpolation='higher')
k = math.ceil((n + 1) * (1 - alpha))
# quantile's position is level * (n - 1) = k - k / n, which "higher" rounds up to the
# 0-based index k: the (k + 1)-th smallest score
qhat_k = torch.kthvalue(scores, k + 1).values
print(f'lac threshold {qhat.item():.5f} | kthvalue {qhat_k.item():.5f} | '
      f'k-th {torch.kthvalue(scores, k).values.item():.5f} | equal {torch.equal(qhat, qhat_k)}')
for interp in ('linear', 'lower', 'nearest', 'midpoint'):
    print(f'quantile {interp} {torch.quantile(scores, level, interpolation=interp).item():.5f}')

sets = (1 - p_te) <= qhat
covered = sets.gather(1, y_te[:, None]).squeeze(1)
print(f'lac coverage {covered.float().mean().item():.3f} | '
      f'mean set size {sets.sum(1).float().mean().item():.3f} | '
      f'empty sets {(sets.sum(1) == 0).sum().item()}')

# adaptive prediction sets, randomised
g = torch.Generator().manual_seed(3)


def aps_scores(probs, labels, u):
    sorted_p, order = torch.sort(probs, dim=1, descending=True, stable=True)
    cum = sorted_p.cumsum(dim=1)
    ranks = torch.argsort(order, dim=1)               # where each class sits in the order
    r = ranks.gather(1, labels[:, None]).squeeze(1)
    cum_at = cum.gather(1, r[:, None]).squeeze(1)
    p_at = sorted_p.gather(1, r[:, None]).squeeze(1)
    return cum_at - u * p_at


# without the randomisation (u = 0) the score is the whole mass down to the true class
qhat_plain = torch.quantile(aps_scores(p_cal, y_cal, torch.zeros(n)), level,
                            interpolation='higher')
print(f'aps threshold, not randomised {qhat_plain.item():.5f}')
u_cal = torch.rand(n, generator=g)
aps_cal = aps_scores(p_cal, y_cal, u_cal)
qhat_aps = torch.quantile(aps_cal, level, interpolation='higher')
print(f'aps threshold {qhat_aps.item():.5f}')

sorted_p, order = torch.sort(p_te, dim=1, descending=True, stable=True)
cum = sorted_p.cumsum(dim=1)
u_te = torch.rand(len(p_te), 1, generator=g)
keep_sorted = (cum - u_te * sorted_p) <= qhat_aps
keep_sorted[:, 0] |= ~keep_sorted.any(dim=1)       # never an empty set
aps_sets = torch.zeros_like(keep_sorted).scatter(1, order, keep_sorted)
aps_cov = aps_sets.gather(1, y_te[:, None]).float().mean()
print(f'aps coverage {aps_cov.item():.3f} | mean set size {aps_sets.sum(1).float().mean().item():.3f}')
size_hist = torch.bincount(aps_sets.sum(1), minlength=C + 1)
print(f'aps set sizes {size_hist.tolist()}')

# -- (b) conformalized quantile regression ------------------------------------------------


def make_reg(n):
    x = rng.uniform(-3, 3, (n, 1))
    y = np.sin(x) * 2 + (0.2 + 0.5 * np.abs(x)) * rng.standard_normal((n, 1))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y[:, 0].astype(np.float32))


xr_tr, yr_tr = make_reg(800)
xr_cal, yr_cal = make_reg(400)
xr_te, yr_te = make_reg(500)
quantiles = torch.tensor([alpha / 2, 1 - alpha / 2])


def pinball(pred, y):
    diff = y[:, None] - pred
    return torch.maximum(quantiles * diff, (quantiles - 1) * diff).mean()


reg = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2))
opt = torch.optim.Adam(reg.parameters(), lr=0.01)
for epoch in range(8):
    total = 0.0
    for idx in torch.arange(len(xr_tr)).reshape(-1, 100):
        loss = pinball(reg(xr_tr[idx]), yr_tr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    print(f'quantile regressor epoch {epoch} | pinball {total / 8:.4f}')

with torch.no_grad():
    q_cal, q_te = reg(xr_cal), reg(xr_te)
lo_cal, hi_cal = q_cal.unbind(1)
cqr_scores = torch.maximum(lo_cal - yr_cal, yr_cal - hi_cal)
qhat_cqr = torch.quantile(cqr_scores, level, interpolation='higher')
lo, hi = q_te[:, 0] - qhat_cqr, q_te[:, 1] + qhat_cqr
raw_cov = ((yr_te >= q_te[:, 0]) & (yr_te <= q_te[:, 1])).float().mean()
cqr_cov = ((yr_te >= lo) & (yr_te <= hi)).float().mean()
print(f'cqr correction {qhat_cqr.item():.5f} | raw coverage {raw_cov.item():.3f} | '
      f'conformal coverage {cqr_cov.item():.3f} | mean width {(hi - lo).mean().item():.4f}')
# the width follows the noise: narrow near 0, wide at the ends
near = xr_te[:, 0].abs() < 1
print(f'width near 0 {(hi - lo)[near].mean().item():.4f} | '
      f'far {(hi - lo)[~near].mean().item():.4f}')
