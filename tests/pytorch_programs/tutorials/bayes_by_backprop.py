"""Bayes by Backprop (Blundell et al., 2015) on a made-up 1-D regression, written for the
xpnn tests: 128 noisy points of y = x sin(x) for x in [-3, 3], fitted by a network of
variational linear layers.

Each layer holds a mean and a ``rho`` Parameter per weight and bias; sigma is
``F.softplus(rho)``, a forward pass draws the weights by the reparameterization
mu + sigma * eps (eps from ``torch.randn_like``), and the layer keeps the KL divergence of
its posterior Normal(mu, sigma) from a Normal prior (``torch.distributions.kl_divergence``).
The loss is the negative ELBO: the batch's negative log-likelihood under
``Normal(prediction, 0.2).log_prob`` plus the KL
(weighted by 0.1, a tempered posterior) shared out over the batches; Adam. Monte-Carlo
predictions (the mean and the standard deviation over 100 weight samples) are printed for
inputs inside and outside the data.

    python tests/pytorch_programs/tutorials/bayes_by_backprop.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(12)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

n_points, noise_std = 128, 0.2
x = torch.linspace(-3, 3, n_points).unsqueeze(1)
y = x * torch.sin(x) + noise_std * torch.randn(n_points, 1)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)


class BayesLinear(nn.Module):
    def __init__(self, in_features, out_features, prior_std=1.0):
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.weight_mu = nn.Parameter(
            torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.weight_rho = nn.Parameter(torch.full((out_features, in_features), -5.0))
        self.bias_mu = nn.Parameter(torch.zeros(out_features))
        self.bias_rho = nn.Parameter(torch.full((out_features,), -5.0))
        self.prior_std = prior_std
        self.kl = torch.tensor(0.0)

    def forward(self, input):
        weight_sigma = F.softplus(self.weight_rho)
        bias_sigma = F.softplus(self.bias_rho)
        weight = self.weight_mu + weight_sigma * torch.randn_like(weight_sigma)
        bias = self.bias_mu + bias_sigma * torch.randn_like(bias_sigma)
        prior = Normal(torch.zeros_like(self.weight_mu),
                       self.prior_std * torch.ones_like(self.weight_mu))
        bias_prior = Normal(torch.zeros_like(self.bias_mu), self.prior_std)
        self.kl = (kl_divergence(Normal(self.weight_mu, weight_sigma), prior).sum()
                   + kl_divergence(Normal(self.bias_mu, bias_sigma), bias_prior).sum())
        return F.linear(input, weight, bias)

    def extra_repr(self):
        return f'in_features={self.weight_mu.shape[1]}, out_features={self.weight_mu.shape[0]}'


class BayesNet(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = BayesLinear(1, hidden)
        self.fc2 = BayesLinear(hidden, hidden)
        self.out = BayesLinear(hidden, 1)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.out(x)

    def kl(self):
        return sum(m.kl for m in self.modules() if isinstance(m, BayesLinear))


model = BayesNet().to(device)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
kl_weight = 0.1  # a tempered posterior: the full KL swamps 128 points


def gaussian_nll(pred, target):
    return -Normal(pred, noise_std).log_prob(target).sum()


for epoch in range(1, 61):
    model.train()
    total_nll, total_kl = 0.0, 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        nll = gaussian_nll(model(xb), yb)
        kl = kl_weight * model.kl() / len(loader)
        loss = (nll + kl) / len(xb)
        loss.backward()
        optimizer.step()
        total_nll += nll.item()
        total_kl += kl.item()
    if epoch % 5 == 0:
        print(f'epoch {epoch:3d} | nll per point {total_nll / n_points:.4f} | '
              f'kl {total_kl:.2f} | neg elbo per point {(total_nll + total_kl) / n_points:.4f}')

sigmas = torch.cat([F.softplus(p).flatten() for n, p in model.named_parameters()
                    if n.endswith('rho')])
print(f'posterior sigma: mean {sigmas.mean().item():.4f}, max {sigmas.max().item():.4f}')

model.eval()
queries = torch.tensor([[-5.0], [-2.0], [0.0], [1.5], [5.0]], device=device)
with torch.no_grad():
    samples = torch.stack([model(queries) for _ in range(100)])  # (100, 5, 1)
mean, std = samples.mean(dim=0).squeeze(1), samples.std(dim=0).squeeze(1)
for q, m, s in zip(queries.squeeze(1), mean, std):
    print(f'x = {q.item():+.1f}: prediction {m.item():+.3f} +- {s.item():.3f} '
          f'(true {(q * torch.sin(q)).item():+.3f})')
