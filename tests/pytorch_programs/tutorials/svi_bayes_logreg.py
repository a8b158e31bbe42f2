"""Stochastic variational inference for Bayesian logistic regression, written for the xpnn
tests after the SVI recipe (Hoffman et al., 2013; Kingma and Welling, 2014) on made-up data,
with ``torch.distributions`` alone.

First the distributions are checked in closed form (these lines are deterministic):
``Dirichlet``, ``Gamma`` and ``Beta`` log-densities and ``sample`` shapes (batch and event
shapes), ``LogNormal`` against ``TransformedDistribution(Normal, [ExpTransform()])``, and
``kl_divergence(MultivariateNormal, MultivariateNormal)`` at the guide's start.

The model: weights w ~ ``Independent(Normal(0, 1), 1)`` prior, labels y ~
``Bernoulli(logits=X w)``. The guide is a ``LowRankMultivariateNormal`` (a learned mean, a
rank-2 ``cov_factor``, a ``softplus``-ed ``cov_diag``) in an ``nn.Module``; the ELBO is the
Monte-Carlo mean of log-likelihood + log-prior over ``rsample`` draws plus the guide's
analytic ``entropy()``, maximised by Adam. At the end the analytic KL(q || prior) of the
guide (as a ``MultivariateNormal``) is compared with a Monte-Carlo estimate from
``sample`` and ``log_prob``, and the posterior predictive accuracy is printed. The samples
are drawn inside the distributions, which the replay does not cover.

    python tests/pytorch_programs/tutorials/svi_bayes_logreg.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (Bernoulli, Beta, Dirichlet, ExpTransform, Gamma, Independent,
                                 LogNormal, LowRankMultivariateNormal, MultivariateNormal,
                                 Normal, TransformedDistribution, kl_divergence)

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

# -- closed-form checks ---------------------------------------------------------------------
dirichlet = Dirichlet(torch.tensor([[1.5, 2.0, 3.0], [0.5, 0.5, 0.5]]))
probs = torch.tensor([0.2, 0.3, 0.5])
print(f'dirichlet batch {tuple(dirichlet.batch_shape)} event {tuple(dirichlet.event_shape)} '
      f'sample {tuple(dirichlet.sample((5,)).shape)} log_prob '
      f'{[round(v, 4) for v in dirichlet.log_prob(probs).tolist()]}')
gamma = Gamma(torch.tensor([2.0, 0.5]), torch.tensor([3.0, 1.0]))
print(f'gamma sample {tuple(gamma.sample((4, 2)).shape)} log_prob '
      f'{[round(v, 4) for v in gamma.log_prob(torch.tensor([0.7, 1.5])).tolist()]} mean '
      f'{[round(v, 4) for v in gamma.mean.tolist()]}')
beta = Beta(torch.tensor(2.0), torch.tensor(5.0))
print(f'beta sample {tuple(beta.sample((3,)).shape)} log_prob '
      f'{[round(v, 4) for v in beta.log_prob(torch.tensor([0.1, 0.5, 0.9])).tolist()]} '
      f'variance {beta.variance.item():.5f}')
log_normal = LogNormal(torch.tensor(0.3), torch.tensor(0.6))
transformed = TransformedDistribution(Normal(torch.tensor(0.3), torch.tensor(0.6)),
                                      [ExpTransform()])
points = torch.tensor([0.5, 1.0, 2.5])
print(f'lognormal log_prob {[round(v, 4) for v in log_normal.log_prob(points).tolist()]} | '
      f'transformed normal agrees: '
      f'{torch.allclose(log_normal.log_prob(points), transformed.log_prob(points))} | '
      f'mean {log_normal.mean.item():.4f}')
print(f'lognormal sample shape {tuple(log_normal.sample((6,)).shape)}, transformed rsample '
      f'positive: {bool((transformed.rsample((100,)) > 0).all())}')

# -- data -----------------------------------------------------------------------------------
n, d = 240, 4
true_w = np.array([1.5, -2.0, 0.5, 0.3])
features = rng.standard_normal((n, d - 1))
X = np.concatenate([features, np.ones((n, 1))], axis=1)
y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ true_w))).astype(np.float32)
X = torch.tensor(X, dtype=torch.float32, device=device)
y = torch.tensor(y, device=device)
train_X, train_y, test_X, test_y = X[:180], y[:180], X[180:], y[180:]
prior = Independent(Normal(torch.zeros(d, device=device), torch.ones(d, device=device)), 1)
print(f'prior batch {tuple(prior.batch_shape)} event {tuple(prior.event_shape)}')


class Guide(nn.Module):
    def __init__(self, rank=2):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(d))
        self.cov_factor = nn.Parameter(torch.full((d, rank), 0.1))
        self.raw_diag = nn.Parameter(torch.full((d,), -1.0))

    def forward(self):
        return LowRankMultivariateNormal(self.loc, self.cov_factor, F.softplus(self.raw_diag))


guide = Guide().to(device)
q = guide()
q_full = MultivariateNormal(q.loc, covariance_matrix=q.covariance_matrix)
prior_mvn = MultivariateNormal(torch.zeros(d), torch.eye(d))
print(f'kl(guide || prior) at the start {kl_divergence(q_full, prior_mvn).item():.4f} | '
      f'entropy low-rank {q.entropy().item():.4f} full {q_full.entropy().item():.4f}')


def elbo(q, X, y, samples=16):
    w = q.rsample((samples,))                                       # (S, d)
    log_likelihood = Bernoulli(logits=X @ w.T).log_prob(y[:, None]).sum(0)
    return (log_likelihood + prior.log_prob(w)).mean() + q.entropy()


with torch.no_grad():
    test_nll = -Bernoulli(logits=test_X @ guide().loc).log_prob(test_y).mean()
print(f'untrained | test nll at the mean {test_nll.item():.4f}')
optimizer = torch.optim.Adam(guide.parameters(), lr=0.05)
for step in range(1, 301):
    loss = -elbo(guide(), train_X, train_y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        with torch.no_grad():
            q = guide()
            test_nll = -Bernoulli(logits=test_X @ q.loc).log_prob(test_y).mean()
        print(f'step {step} | neg elbo {loss.item():.3f} | test nll at the mean '
              f'{test_nll.item():.4f}')

with torch.no_grad():
    q = guide()
    q_full = MultivariateNormal(q.loc, covariance_matrix=q.covariance_matrix)
    analytic = kl_divergence(q_full, prior_mvn)
    draws = q_full.sample((20000,))
    monte_carlo = (q_full.log_prob(draws) - prior_mvn.log_prob(draws)).mean()
    predictive = torch.sigmoid(test_X @ q.sample((200,)).T).mean(1)
    accuracy = ((predictive > 0.5).float() == test_y).float().mean()
print(f'posterior mean {[round(v, 2) for v in q.loc.tolist()]} | true {true_w.tolist()}')
print(f'kl analytic {analytic.item():.3f} | monte carlo close: '
      f'{abs(analytic.item() - monte_carlo.item()) < 0.1}')
print(f'posterior predictive accuracy {accuracy.item():.3f}')
