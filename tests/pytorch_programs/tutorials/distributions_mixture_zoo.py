"""A tour of torch.distributions, written for the xpnn tests: a Gaussian mixture fitted by
maximum likelihood, a zoo of distributions checked against their closed forms, and a
reparameterised ELBO (Kingma and Welling, 2014, "Auto-Encoding Variational Bayes").

A ``MixtureSameFamily(Categorical(logits), Independent(Normal(loc, scale), 1))`` with
learned logits, means and log-scales is fitted by Adam on the negative log-likelihood of
made-up 2-D clusters. The zoo then checks: a logit-normal ``TransformedDistribution`` of
``ComposeTransform([AffineTransform, SigmoidTransform])`` against the change of variables
by hand, ``LowRankMultivariateNormal`` against ``MultivariateNormal`` with the same
covariance, ``MultivariateNormal(scale_tril=...)`` entropies, ``Gamma`` log-densities,
``kl_divergence`` between Normal, Categorical and MultivariateNormal pairs against the
closed forms, and the ``entropy`` of each. A Bayesian linear regression is fitted by a
mean-field Normal posterior whose samples are loc + scale * ``torch.randn`` and whose KL
to the prior is ``kl_divergence``. Last, ``Dirichlet`` and ``Beta`` ``rsample`` carry
gradients to their concentrations.

    python tests/pytorch_programs/tutorials/distributions_mixture_zoo.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (AffineTransform, Beta, Categorical, ComposeTransform,
                                 Dirichlet, Gamma, Independent, LowRankMultivariateNormal,
                                 MixtureSameFamily, MultivariateNormal, Normal,
                                 SigmoidTransform, TransformedDistribution, kl_divergence)

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
K = 3

centres = np.array([[-2.0, 0.0], [1.5, 1.5], [1.0, -2.0]])
spreads = np.array([[0.5, 0.3], [0.3, 0.6], [0.7, 0.4]])
labels = rng.choice(K, 600, p=[0.5, 0.3, 0.2])
points = torch.tensor(centres[labels] + spreads[labels] * rng.standard_normal((600, 2)),
                      dtype=torch.float32, device=device)


class GaussianMixture(nn.Module):
    def __init__(self, k, dim):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(k))
        self.loc = nn.Parameter(torch.randn(k, dim))
        self.log_scale = nn.Parameter(torch.zeros(k, dim))

    def forward(self):
        components = Independent(Normal(self.loc, self.log_scale.exp()), 1)
        return MixtureSameFamily(Categorical(logits=self.logits), components)


mixture = GaussianMixture(K, 2).to(device)
optimizer = torch.optim.Adam(mixture.parameters(), lr=0.05)
for step in range(1, 201):
    optimizer.zero_grad()
    nll = -mixture().log_prob(points).mean()
    nll.backward()
    optimizer.step()
    if step % 40 == 0:
        print(f"mixture step {step:3d} | nll {nll.item():.4f}")
fitted = mixture()
order = fitted.component_distribution.base_dist.loc[:, 0].argsort()
print("weights", [round(w, 3) for w in fitted.mixture_distribution.probs[order].tolist()])
print("means", [[round(v, 2) for v in row] for row in fitted.component_distribution.mean[order]
                .tolist()])

# a logit-normal by composing transforms, against the change of variables by hand
base = Normal(torch.tensor(0.0), torch.tensor(1.0))
logit_normal = TransformedDistribution(
    base, ComposeTransform([AffineTransform(loc=0.3, scale=0.8), SigmoidTransform()]))
y = torch.tensor([0.1, 0.4, 0.75, 0.95])
z = torch.log(y) - torch.log1p(-y)
by_hand = base.log_prob((z - 0.3) / 0.8) - math.log(0.8) - torch.log(y * (1 - y))
print(f"logit-normal log_prob {logit_normal.log_prob(y).sum().item():.5f} | agrees by hand: "
      f"{torch.allclose(logit_normal.log_prob(y), by_hand, atol=1e-5)}")

# a low-rank plus diagonal covariance, against the dense MultivariateNormal
W = torch.tensor([[1.0, 0.5], [0.2, -0.4], [0.0, 0.9], [-0.6, 0.1]])
diag = torch.tensor([0.5, 0.3, 0.8, 0.2])
low_rank = LowRankMultivariateNormal(torch.zeros(4), cov_factor=W, cov_diag=diag)
dense = MultivariateNormal(torch.zeros(4), covariance_matrix=W @ W.T + torch.diag(diag))
x4 = torch.tensor([[0.2, -0.1, 0.5, 1.0], [-1.0, 0.3, 0.0, 0.4]])
print(f"low-rank log_prob {low_rank.log_prob(x4).sum().item():.5f} | dense "
      f"{dense.log_prob(x4).sum().item():.5f} | entropy {low_rank.entropy().item():.5f} vs "
      f"{dense.entropy().item():.5f}")

L = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [-0.3, 0.2, 0.6]])
tril = MultivariateNormal(torch.tensor([0.0, 1.0, -1.0]), scale_tril=L)
closed = 0.5 * 3 * (1 + math.log(2 * math.pi)) + torch.log(torch.diagonal(L)).sum()
print(f"scale_tril entropy {tril.entropy().item():.5f} | closed form {closed.item():.5f}")

gamma = Gamma(torch.tensor([2.0, 5.0]), torch.tensor([1.5, 0.5]))
v = torch.tensor([1.2, 7.0])
by_hand = (gamma.concentration * torch.log(gamma.rate) + (gamma.concentration - 1) * torch.log(v)
           - gamma.rate * v - torch.lgamma(gamma.concentration))
print(f"gamma log_prob {gamma.log_prob(v).sum().item():.5f} | by hand "
      f"{by_hand.sum().item():.5f} | mean {[round(m, 4) for m in gamma.mean.tolist()]} | entropy "
      f"{gamma.entropy().sum().item():.5f}")

# kl_divergence against the closed forms
p = Normal(torch.tensor(0.5), torch.tensor(1.2))
q = Normal(torch.tensor(-0.3), torch.tensor(0.7))
closed = (torch.log(q.scale / p.scale)
          + (p.scale ** 2 + (p.loc - q.loc) ** 2) / (2 * q.scale ** 2) - 0.5)
print(f"KL(Normal || Normal) {kl_divergence(p, q).item():.5f} | closed form {closed.item():.5f}")
a = Categorical(logits=torch.tensor([0.1, 1.0, -0.5]))
b = Categorical(probs=torch.tensor([0.2, 0.5, 0.3]))
closed = (a.probs * (a.probs.log() - b.probs.log())).sum()
print(f"KL(Categorical || Categorical) {kl_divergence(a, b).item():.5f} | closed form "
      f"{closed.item():.5f} | entropies {a.entropy().item():.5f} {b.entropy().item():.5f}")
m1 = MultivariateNormal(torch.tensor([0.0, 1.0, -1.0]), scale_tril=L)
m2 = MultivariateNormal(torch.zeros(3), covariance_matrix=torch.eye(3) * 2.0)
S1, S2inv = L @ L.T, torch.linalg.inv(m2.covariance_matrix)
d = m2.loc - m1.loc
closed = 0.5 * (torch.trace(S2inv @ S1) + d @ S2inv @ d - 3
                + torch.logdet(m2.covariance_matrix) - torch.logdet(S1))
print(f"KL(MVN || MVN) {kl_divergence(m1, m2).item():.5f} | closed form {closed.item():.5f}")

# a reparameterised ELBO for Bayesian linear regression with a mean-field Normal posterior
X = torch.tensor(rng.standard_normal((64, 3)), dtype=torch.float32)
w_true = torch.tensor([1.5, -2.0, 0.5])
t = X @ w_true + 0.3 * torch.tensor(rng.standard_normal(64), dtype=torch.float32)
loc = torch.zeros(3, requires_grad=True)
rho = torch.full((3,), -1.0, requires_grad=True)
prior = Normal(torch.zeros(3), torch.ones(3))
optimizer = torch.optim.Adam([loc, rho], lr=0.05)
for step in range(1, 151):
    posterior = Normal(loc, F.softplus(rho))
    w = posterior.loc + posterior.scale * torch.randn(8, 3)       # 8 reparameterised draws
    log_lik = Normal(w @ X.T, 0.3).log_prob(t).sum(-1).mean()
    elbo = log_lik - kl_divergence(posterior, prior).sum()
    optimizer.zero_grad()
    (-elbo).backward()
    optimizer.step()
    if step % 30 == 0:
        print(f"elbo step {step:3d} | elbo {elbo.item():.3f}")
print("posterior mean", [round(v, 2) for v in loc.tolist()], "| posterior std",
      [round(v, 3) for v in F.softplus(rho).tolist()])

# rsample carries gradients to the concentrations
alpha = torch.tensor([2.0, 3.0, 5.0], requires_grad=True)
sample = Dirichlet(alpha).rsample((2000,))
(sample[:, 2].mean()).backward()
print(f"Dirichlet rsample sums to one: {torch.allclose(sample.sum(-1), torch.ones(2000))} | "
      f"mean near alpha / sum: {bool((sample.mean(0) - alpha / alpha.sum()).abs().max() < 0.02)}"
      f" | d mean / d alpha_3 positive: {bool(alpha.grad[2] > 0)}")
concentration = torch.tensor([2.0, 4.0], requires_grad=True)
beta = Beta(concentration[0], concentration[1])
draws = beta.rsample((2000,))
draws.mean().backward()
print(f"Beta rsample in (0, 1): {bool(((draws > 0) & (draws < 1)).all())} | mean near 1/3: "
      f"{bool((draws.mean() - 1 / 3).abs() < 0.02)} | d mean / d a positive: "
      f"{bool(concentration.grad[0] > 0)}")
