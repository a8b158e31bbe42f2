"""A differentiable Kalman filter that learns its noise covariances, written for the xpnn
tests after the classic system-identification recipe, on made-up 2-D tracks.

A point moves at a nearly constant velocity (state: position and velocity, 4-D) and is seen
through noisy positions (2-D). The filter knows the dynamics A and the observation matrix
H but not the process and measurement covariances Q and R: each is parametrised by a
Cholesky factor, ``torch.tril(raw, diagonal=-1) + torch.diag_embed(F.softplus(diag))``, so
it stays positive definite. The filter runs over a batch of tracks; each innovation
covariance S is factored by ``torch.linalg.cholesky``, the gain comes from
``torch.cholesky_solve``, and the innovation log-likelihood uses the Mahalanobis term by
``torch.cholesky_solve`` and ``torch.linalg.slogdet`` (checked against
``torch.distributions.MultivariateNormal(mean, scale_tril=...).log_prob``). Adam maximises the
log-likelihood; the RMSE of the filtered positions against the true ones is printed before
and after, next to the filter that knows the true Q and R.

    python tests/pytorch_programs/tutorials/kalman_filter_learned.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import MultivariateNormal

torch.manual_seed(7)
rng = np.random.default_rng(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

dt, steps, tracks = 0.1, 40, 24
A_np = np.eye(4)
A_np[0, 2] = A_np[1, 3] = dt
H_np = np.eye(2, 4)
q_true = np.diag([1e-4, 1e-4, 4e-2, 4e-2])
r_true = np.array([[0.04, 0.01], [0.01, 0.02]])


def simulate(count):
    x = np.zeros((count, 4))
    x[:, 2:] = rng.normal(0, 1, (count, 2))
    states, obs = [], []
    for _ in range(steps):
        x = x @ A_np.T + rng.multivariate_normal(np.zeros(4), q_true, count)
        states.append(x)
        obs.append(x @ H_np.T + rng.multivariate_normal(np.zeros(2), r_true, count))
    as_t = lambda a: torch.tensor(np.stack(a, 1), dtype=torch.float32, device=device)
    return as_t(states), as_t(obs)                           # (count, steps, 4), (.., 2)


def cholesky_factor(raw, diag):
    return torch.tril(raw, diagonal=-1) + torch.diag_embed(F.softplus(diag))


class KalmanFilter(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('A', torch.tensor(A_np, dtype=torch.float32))
        self.register_buffer('H', torch.tensor(H_np, dtype=torch.float32))
        self.q_raw = nn.Parameter(torch.zeros(4, 4))
        self.q_diag = nn.Parameter(torch.full((4,), -1.0))
        self.r_raw = nn.Parameter(torch.zeros(2, 2))
        self.r_diag = nn.Parameter(torch.full((2,), -2.0))

    def covariances(self):
        lq, lr = cholesky_factor(self.q_raw, self.q_diag), cholesky_factor(self.r_raw,
                                                                          self.r_diag)
        return lq @ lq.T, lr @ lr.T

    def forward(self, y, Q=None, R=None, check=False):
        if Q is None:
            Q, R = self.covariances()
        batch = y.shape[0]
        m = torch.zeros(batch, 4, device=y.device)
        m[:, :2] = y[:, 0]
        P = torch.eye(4, device=y.device).expand(batch, 4, 4).clone()
        eye = torch.eye(4, device=y.device)
        log_lik, filtered = 0.0, []
        for t in range(y.shape[1]):
            m = m @ self.A.T
            P = self.A @ P @ self.A.T + Q
            mean = m @ self.H.T
            innovation = y[:, t] - mean
            S = self.H @ P @ self.H.T + R
            L = torch.linalg.cholesky(S)
            maha = (innovation.unsqueeze(-1)
                    * torch.cholesky_solve(innovation.unsqueeze(-1), L)).sum((-2, -1))
            logdet = torch.linalg.slogdet(S).logabsdet
            ll = -0.5 * (maha + logdet + 2 * math.log(2 * math.pi))
            if check and t == 0:
                reference = MultivariateNormal(mean, scale_tril=L).log_prob(y[:, t])
                print(f'log-likelihood matches MultivariateNormal: '
                      f'{torch.allclose(ll, reference, atol=1e-5)}')
            log_lik = log_lik + ll
            gain = torch.cholesky_solve(self.H @ P, L).transpose(-2, -1)   # P H^T S^-1
            m = m + (gain @ innovation.unsqueeze(-1)).squeeze(-1)
            joseph = eye - gain @ self.H
            P = joseph @ P @ joseph.transpose(-2, -1) + gain @ R @ gain.transpose(-2, -1)
            filtered.append(m)
        return log_lik.mean() / y.shape[1], torch.stack(filtered, 1)


def rmse(filtered, states):
    return (filtered[..., :2] - states[..., :2]).pow(2).sum(-1).mean().sqrt()


train_states, train_obs = simulate(tracks)
test_states, test_obs = simulate(tracks)
model = KalmanFilter().to(device)
with torch.no_grad():
    q_t = torch.tensor(q_true, dtype=torch.float32, device=device)
    r_t = torch.tensor(r_true, dtype=torch.float32, device=device)
    oracle_ll, oracle = model(test_obs, q_t, r_t)
    print(f'true Q, R: test log-lik {oracle_ll.item():.4f} | rmse {rmse(oracle, test_states).item():.4f}')
    ll, filtered = model(test_obs, check=True)
    print(f'initial: test log-lik {ll.item():.4f} | rmse {rmse(filtered, test_states).item():.4f}'
          f' | raw obs rmse {rmse(test_obs, test_states).item():.4f}')

optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(1, 81):
    optimizer.zero_grad()
    ll, _ = model(train_obs)
    (-ll).backward()
    optimizer.step()
    if step % 10 == 0:
        with torch.no_grad():
            test_ll, filtered = model(test_obs)
        print(f'step {step:2d} | train nll {-ll.item():.4f} | test nll {-test_ll.item():.4f} | '
              f'rmse {rmse(filtered, test_states).item():.4f}')

with torch.no_grad():
    Q, R = model.covariances()
    print('learned R', [round(v, 4) for v in R.flatten().tolist()])
    print('learned Q diagonal', [round(v, 5) for v in torch.diagonal(Q).tolist()])
