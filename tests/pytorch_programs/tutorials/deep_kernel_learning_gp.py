"""Deep kernel learning (Wilson, Hu, Salakhutdinov and Xing, 2016, "Deep Kernel Learning"),
written for the xpnn tests after GPyTorch's exact-GP and deep-kernel examples, by hand, on a
made-up 1-D regression problem with a jump that a plain RBF kernel smooths over.

A small MLP maps each input to 2 features; an RBF kernel on them,
outputscale * exp(-0.5 * ``torch.cdist(z1 / l, z2 / l) ** 2``), has a learnable log
length-scale l, and the outputscale and the noise variance are ``F.softplus`` of raw
parameters. The exact GP's negative log marginal likelihood per point is

    0.5 y^T (K + s^2 I)^-1 y + sum(log diag L) + n / 2 log(2 pi),  L = cholesky(K + s^2 I),

with L from ``torch.linalg.cholesky`` (a small jitter on the diagonal), the solve by
``torch.cholesky_solve`` and the log-determinant by ``torch.log(torch.diagonal(L))``. Adam
fits the network and the kernel's hyperparameters together, full batch, in float64. The
predictive mean K*^T alpha and variance k** - ||L^-1 K*||^2 (``torch.linalg.solve_triangular``)
give the test RMSE, the mean predictive standard deviation and the test log-likelihood,
printed during training for the deep kernel and, once fitted the same way, for a plain RBF
kernel on the raw inputs.

    python tests/pytorch_programs/tutorials/deep_kernel_learning_gp.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
JITTER = 1e-6


def target_fn(x):
    return np.where(x < 0.0, np.sin(3 * x), 1.5 + 0.3 * np.cos(5 * x))


x_train_np = np.sort(rng.uniform(-3, 3, 80))
y_train_np = target_fn(x_train_np) + 0.1 * rng.standard_normal(80)
x_test_np = np.linspace(-3, 3, 121)
y_test_np = target_fn(x_test_np)
x_train = torch.tensor(x_train_np[:, None], dtype=torch.float64, device=device)
y_train = torch.tensor(y_train_np, dtype=torch.float64, device=device)
x_test = torch.tensor(x_test_np[:, None], dtype=torch.float64, device=device)
y_test = torch.tensor(y_test_np, dtype=torch.float64, device=device)
y_mean = y_train.mean()


class DeepKernelGP(nn.Module):
    def __init__(self, deep=True, features=2):
        super().__init__()
        self.features = (nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32),
                                       nn.Tanh(), nn.Linear(32, features))
                         if deep else nn.Identity())
        self.log_lengthscale = nn.Parameter(torch.zeros(()))
        self.raw_outputscale = nn.Parameter(torch.tensor(0.5))
        self.raw_noise = nn.Parameter(torch.tensor(-2.0))

    def kernel(self, a, b):
        ls = self.log_lengthscale.exp()
        d = torch.cdist(a / ls, b / ls)
        return F.softplus(self.raw_outputscale) * torch.exp(-0.5 * d ** 2)

    def noise(self):
        return F.softplus(self.raw_noise) + 1e-4

    def cholesky(self, z):
        n = z.shape[0]
        K = self.kernel(z, z) + (self.noise() + JITTER) * torch.eye(n, dtype=z.dtype,
                                                                     device=z.device)
        return torch.linalg.cholesky(K)

    def forward(self, x, y):
        """The negative log marginal likelihood per training point."""
        z = self.features(x)
        L = self.cholesky(z)
        r = (y - y_mean)[:, None]
        alpha = torch.cholesky_solve(r, L)
        n = x.shape[0]
        nll = 0.5 * (r * alpha).sum() + torch.log(torch.diagonal(L)).sum() \
            + 0.5 * n * math.log(2 * math.pi)
        return nll / n

    def predict(self, x, y, x_new):
        z, z_new = self.features(x), self.features(x_new)
        L = self.cholesky(z)
        K_star = self.kernel(z, z_new)
        alpha = torch.cholesky_solve((y - y_mean)[:, None], L)
        mean = (K_star * alpha).sum(dim=0) + y_mean
        v = torch.linalg.solve_triangular(L, K_star, upper=False)
        var = F.softplus(self.raw_outputscale) - (v ** 2).sum(dim=0)
        return mean, var.clamp_min(1e-10)


def evaluate(model):
    model.eval()
    with torch.no_grad():
        mean, var = model.predict(x_train, y_train, x_test)
        rmse = torch.sqrt(((mean - y_test) ** 2).mean())
        total_var = var + model.noise()
        loglik = (-0.5 * (torch.log(2 * math.pi * total_var)
                          + (y_test - mean) ** 2 / total_var)).mean()
    model.train()
    return rmse.item(), var.sqrt().mean().item(), loglik.item()


def fit(model, name, steps=150, lr=0.01):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(1, steps + 1):
        loss = model(x_train, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 30 == 0:
            rmse, std, loglik = evaluate(model)
            print(f'{name} step {step:3d} | nll {loss.item():.4f} | lengthscale '
                  f'{model.log_lengthscale.exp().item():.3f} | noise {model.noise().item():.4f} '
                  f'| test rmse {rmse:.4f} | mean std {std:.4f} | test loglik {loglik:.3f}')


dkl = DeepKernelGP(deep=True).double().to(device)
with torch.no_grad():
    upper = dkl.cholesky(dkl.features(x_train)).triu(1)
    print(f'untrained deep kernel | nll {dkl(x_train, y_train).item():.4f} | '
          f'L lower triangular: {torch.equal(upper, torch.zeros_like(upper))}')
rmse, std, loglik = evaluate(dkl)
print(f'untrained deep kernel | test rmse {rmse:.4f} | mean std {std:.4f} | '
      f'test loglik {loglik:.3f}')
fit(dkl, 'deep kernel')

rbf = DeepKernelGP(deep=False).double().to(device)
fit(rbf, 'rbf kernel')
with torch.no_grad():
    z = dkl.features(x_test)
    print(f'deep features of x=-0.05 and x=0.05 {z[59].tolist()} {z[61].tolist()}')
    jump = (z[61] - z[59]).norm() / dkl.log_lengthscale.exp()
    print(f'feature distance across the jump in length-scales {jump.item():.3f}')
