"""A Gaussian mixture fitted two ways, written for the xpnn tests on made-up 2-D blobs: by
expectation-maximisation, and by gradient descent on the mixture's log-likelihood.

(a) EM: the E-step scores every point under each component by
``torch.distributions.MultivariateNormal(loc, covariance_matrix=...).log_prob`` (one
batched distribution of K components), and normalises the responsibilities in log space by
``torch.logsumexp``; the M-step's weighted means and covariances are ``torch.einsum``
contractions, with a small diagonal jitter ``1e-4 * torch.eye(2)``; every covariance is
checked positive definite by ``torch.linalg.cholesky`` and ``torch.linalg.eigvalsh``.

(b) Gradient descent: an ``nn.Module`` holds the mixture logits, the means and an
unconstrained matrix per component, mapped to a Cholesky factor by
``torch.distributions.transform_to(constraints.lower_cholesky)``; its forward is the
log-likelihood under ``MixtureSameFamily(Categorical(logits=...),
MultivariateNormal(loc, scale_tril=...))``, maximised by Adam.

Both fits' mean log-likelihoods are printed, and the clustering accuracy up to a
relabelling of the components (``itertools.permutations``).

    python tests/pytorch_programs/tutorials/gmm_em.py
"""
import itertools

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import (Categorical, MixtureSameFamily, MultivariateNormal,
                                 constraints, transform_to)

torch.manual_seed(2)
rng = np.random.default_rng(2)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

K, per_cluster = 3, 100
centres = np.array([[-2.0, 0.0], [1.5, 1.5], [1.5, -1.5]])
shapes = np.array([[[1.0, 0.6], [0.6, 0.8]], [[0.5, 0.0], [0.0, 1.2]],
                   [[0.9, -0.4], [-0.4, 0.6]]])
points = np.concatenate([rng.multivariate_normal(c, s, size=per_cluster)
                         for c, s in zip(centres, shapes)])
labels = np.repeat(np.arange(K), per_cluster)
order = rng.permutation(len(points))
x = torch.from_numpy(points[order].astype(np.float32)).to(device)
y = torch.from_numpy(labels[order]).to(device)
print(f'data {tuple(x.shape)} {x.dtype}, per cluster {y.bincount().tolist()}')


def accuracy_up_to_permutation(pred, truth):
    best = 0
    for perm in itertools.permutations(range(K)):
        relabelled = torch.tensor(perm, device=pred.device)[pred]
        best = max(best, (relabelled == truth).sum().item())
    return best / len(truth)


# -- (a) expectation-maximisation ---------------------------------------------------------
# farthest-point initialisation: each next mean is the point farthest from those chosen
start = [0]
for _ in range(K - 1):
    start.append(torch.cdist(x, x[start]).min(dim=1).values.argmax().item())
means = x[start].clone()
covs = torch.eye(2, device=device).repeat(K, 1, 1)
log_weights = torch.full((K,), 1.0 / K, device=device).log()
jitter = 1e-4 * torch.eye(2, device=device)


def e_step(means, covs, log_weights):
    components = MultivariateNormal(means, covariance_matrix=covs)
    joint = components.log_prob(x.unsqueeze(1)) + log_weights     # (N, K)
    log_likelihood = torch.logsumexp(joint, dim=1, keepdim=True)
    return joint - log_likelihood, log_likelihood.mean()


for it in range(1, 31):
    log_resp, mean_ll = e_step(means, covs, log_weights)
    resp = log_resp.exp()
    counts = resp.sum(0)
    means = torch.einsum('nk,nd->kd', resp, x) / counts[:, None]
    diff = x.unsqueeze(1) - means
    covs = torch.einsum('nk,nkd,nke->kde', resp, diff, diff) / counts[:, None, None] + jitter
    log_weights = (counts / len(x)).log()
    if it % 5 == 0:
        print(f'em iteration {it} | mean log-likelihood {mean_ll.item():.4f}')

torch.linalg.cholesky(covs)
eigenvalues = torch.linalg.eigvalsh(covs)
print(f'em covariances positive definite: {bool((eigenvalues > 0).all())}, smallest '
      f'eigenvalue {eigenvalues.min().item():.3f}')
log_resp, em_ll = e_step(means, covs, log_weights)
print(f'em fit | mean log-likelihood {em_ll.item():.4f} | weights '
      f'{[round(w, 2) for w in log_weights.exp().tolist()]} | accuracy '
      f'{accuracy_up_to_permutation(log_resp.argmax(1), y):.3f}')


# -- (b) gradient descent on MixtureSameFamily ----------------------------------------------
class GaussianMixture(nn.Module):
    def __init__(self, init_means):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(K))
        self.loc = nn.Parameter(init_means.clone())
        self.raw_tril = nn.Parameter(torch.zeros(K, 2, 2))

    def distribution(self):
        scale_tril = transform_to(constraints.lower_cholesky)(self.raw_tril)
        return MixtureSameFamily(Categorical(logits=self.logits),
                                 MultivariateNormal(self.loc, scale_tril=scale_tril))

    def forward(self, points):
        return self.distribution().log_prob(points)


model = GaussianMixture(x[start]).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
for step in range(1, 151):
    loss = -model(x).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 30 == 0:
        print(f'adam step {step} | mean log-likelihood {-loss.item():.4f}')

with torch.no_grad():
    gd_ll = model(x).mean()
    mixture = model.distribution()
    component_lp = mixture.component_distribution.log_prob(x.unsqueeze(1))
    posterior = component_lp + torch.log_softmax(model.logits, dim=0)
    scale_tril = mixture.component_distribution.scale_tril
print(f'scale_tril lower triangular: {torch.equal(scale_tril, scale_tril.tril())}, diagonal '
      f'positive: {bool((scale_tril.diagonal(dim1=-2, dim2=-1) > 0).all())}')
print(f'gradient fit | mean log-likelihood {gd_ll.item():.4f} | weights '
      f'{[round(w, 2) for w in mixture.mixture_distribution.probs.tolist()]} | accuracy '
      f'{accuracy_up_to_permutation(posterior.argmax(1), y):.3f}')
print(f'gap between the fits {(em_ll - gd_ll).abs():.4f}')
