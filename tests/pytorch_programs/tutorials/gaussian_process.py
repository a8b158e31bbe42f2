"""Gaussian process regression (Rasmussen and Williams, 2006, algorithm 2.1), written for the
xpnn tests: noisy samples of a made-up 1-D function, an RBF kernel built on ``torch.cdist``,
its Cholesky factor by ``torch.linalg.cholesky``, the weights by ``torch.cholesky_solve``
and the predictive variance by ``torch.linalg.solve_triangular``, the log marginal
likelihood with the log-determinant from the factor's diagonal; the length scale, signal
and noise variances are ``nn.Parameter`` in log space fitted by Adam, and the marginal
likelihood is checked against ``torch.distributions.MultivariateNormal(...).log_prob``.

    python tests/pytorch_programs/tutorials/gaussian_process.py
"""
import math

import torch
import torch.nn as nn
from torch.distributions import MultivariateNormal

torch.manual_seed(2)
torch.set_default_dtype(torch.float64)

n_train = 40
train_x = torch.linspace(-3, 3, n_train).unsqueeze(-1) + 0.05 * torch.randn(n_train, 1)
f = lambda x: torch.sin(2 * x) + 0.3 * x
train_y = f(train_x).squeeze(-1) + 0.1 * torch.randn(n_train)
test_x = torch.linspace(-4, 4, 9).unsqueeze(-1)


class GPRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.log_lengthscale = nn.Parameter(torch.tensor(0.0))
        self.log_signal = nn.Parameter(torch.tensor(0.0))
        self.log_noise = nn.Parameter(torch.tensor(-1.0))

    def kernel(self, a, b):
        d = torch.cdist(a, b) / self.log_lengthscale.exp()
        return self.log_signal.exp() * torch.exp(-0.5 * d.pow(2))

    def forward(self, x, y):
        """The negative log marginal likelihood per point."""
        n = x.shape[0]
        K = self.kernel(x, x) + self.log_noise.exp() * torch.eye(n)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
        log_det = 2 * torch.log(torch.diagonal(L)).sum()
        lml = -0.5 * (y.unsqueeze(-1) * alpha).sum() - 0.5 * log_det - \
            0.5 * n * math.log(2 * math.pi)
        return -lml / n

    @torch.no_grad()
    def predict(self, x, y, x_star):
        K = self.kernel(x, x) + self.log_noise.exp() * torch.eye(x.shape[0])
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
        K_s = self.kernel(x, x_star)
        mean = (K_s.T @ alpha).squeeze(-1)
        v = torch.linalg.solve_triangular(L, K_s, upper=False)
        var = self.log_signal.exp() - (v * v).sum(0)
        return mean, var


model = GPRegression()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(1, 121):
    optimizer.zero_grad()
    loss = model(train_x, train_y)
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(f'step {step} | nll {loss.item():.5f} | lengthscale '
              f'{model.log_lengthscale.exp().item():.4f} | signal '
              f'{model.log_signal.exp().item():.4f} | noise {model.log_noise.exp().item():.5f}')

with torch.no_grad():
    K = model.kernel(train_x, train_x) + model.log_noise.exp() * torch.eye(n_train)
    mvn = MultivariateNormal(torch.zeros(n_train), covariance_matrix=K)
    by_distribution = -mvn.log_prob(train_y) / n_train
    by_hand = model(train_x, train_y)
    print(f'nll by hand {by_hand.item():.6f}, by MultivariateNormal '
          f'{by_distribution.item():.6f}')
    mvn_tril = MultivariateNormal(torch.zeros(n_train), scale_tril=torch.linalg.cholesky(K))
    sign, logabsdet = torch.linalg.slogdet(K)
    L = torch.linalg.cholesky(K)
    print(f'log det: slogdet {logabsdet.item():.6f} (sign {sign.item():+.0f}), logdet '
          f'{torch.logdet(K).item():.6f}, from the factor '
          f'{2 * L.diagonal().log().sum().item():.6f}')
    K_inv = torch.cholesky_inverse(L)
    print(f'cholesky_inverse: K K^-1 = I is '
          f'{torch.allclose(K @ K_inv, torch.eye(n_train), atol=1e-8)}')
    print(f'by scale_tril {(-mvn_tril.log_prob(train_y) / n_train).item():.6f}')

mean, var = model.predict(train_x, train_y, test_x)
for x, m, v, t in zip(test_x.squeeze(-1).tolist(), mean.tolist(), var.tolist(),
                      f(test_x).squeeze(-1).tolist()):
    print(f'x {x:+.1f} | mean {m:+.4f} | std {math.sqrt(max(v, 0.0)):.4f} | true {t:+.4f}')
predictive = torch.distributions.Normal(mean, (var + model.log_noise.exp()).sqrt())
print(f'test predictive nll {-predictive.log_prob(f(test_x).squeeze(-1)).mean().item():.4f}')
test_rmse = (mean - f(test_x).squeeze(-1)).pow(2).mean().sqrt()
print(f'test rmse {test_rmse.item():.4f}')
print(mean.dtype, var.shape)
