"""Hamiltonian Monte Carlo for a small Bayesian neural network (Neal, 2011, "MCMC using
Hamiltonian dynamics"), written for the xpnn tests in float64 on made-up 1-D regression
data (a noisy sine with a gap in the inputs).

The network is an ``nn.Module`` (a tanh MLP) converted by ``.double()``; its parameters are
flattened into one vector by ``torch.nn.utils.parameters_to_vector`` and written back by
``vector_to_parameters``. The potential energy is the negative log posterior: a Gaussian
likelihood and an isotropic prior, both by ``torch.distributions.Normal(...).log_prob``;
its gradient comes from ``torch.autograd.grad``. The chain starts at a MAP estimate found
by Adam, draws momenta by ``torch.randn_like``, moves by a leapfrog integrator, and accepts
by the Metropolis rule with ``torch.rand``. The kept samples (after burn-in, thinned) give
the posterior predictive mean and variance on a test grid, and the predictive variance is
printed inside and outside the gap in the data.

    python tests/pytorch_programs/tutorials/bnn_hmc.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Normal
from torch.nn.utils import parameters_to_vector, vector_to_parameters

torch.manual_seed(7)
rng = np.random.default_rng(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

x_np = np.concatenate([rng.uniform(-3, -0.8, 30), rng.uniform(0.8, 3, 30)])
y_np = np.sin(1.5 * x_np) + 0.1 * rng.standard_normal(x_np.shape)
x = torch.from_numpy(x_np).unsqueeze(1).to(device)
y = torch.from_numpy(y_np).unsqueeze(1).to(device)
x_test = torch.linspace(-3, 3, 25, dtype=torch.float64, device=device).unsqueeze(1)
print(f'data {tuple(x.shape)} {x.dtype}')

model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                      nn.Linear(16, 1)).double().to(device)
noise = Normal(torch.tensor(0.0, dtype=torch.float64, device=device),
               torch.tensor(0.1, dtype=torch.float64, device=device))
prior = Normal(torch.tensor(0.0, dtype=torch.float64, device=device),
               torch.tensor(1.0, dtype=torch.float64, device=device))


def potential(theta):
    """The negative log posterior (up to a constant) at the flat parameter vector theta."""
    vector_to_parameters(theta, model.parameters())
    log_lik = noise.log_prob(y - model(x)).sum()
    return -(log_lik + prior.log_prob(theta).sum())


# the MAP start by Adam
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(300):
    loss = -(noise.log_prob(y - model(x)).sum()
             + prior.log_prob(parameters_to_vector(model.parameters())).sum())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 60 == 0 or step == 299:
        print(f'map step {step} | negative log posterior {loss.item():.4f}')


def grad_potential(theta):
    theta = theta.detach().requires_grad_(True)
    u = potential(theta)
    (g,) = torch.autograd.grad(u, theta)
    return u.detach(), g


def leapfrog(theta, momentum, step_size, n_steps):
    u, g = grad_potential(theta)
    momentum = momentum - 0.5 * step_size * g
    for i in range(n_steps):
        theta = theta + step_size * momentum
        u, g = grad_potential(theta)
        if i < n_steps - 1:
            momentum = momentum - step_size * g
    momentum = momentum - 0.5 * step_size * g
    return theta, momentum, u


theta = parameters_to_vector(model.parameters()).detach().clone()
print(f'{theta.numel()} parameters, {theta.dtype}')
u_current, _ = grad_potential(theta)
step_size, n_steps, n_iter, burn_in, thin = 4e-4, 25, 60, 20, 2
samples, accepted = [], 0
for it in range(n_iter):
    momentum = torch.randn_like(theta)
    kinetic = 0.5 * (momentum ** 2).sum()
    proposal, p_new, u_new = leapfrog(theta, momentum, step_size, n_steps)
    kinetic_new = 0.5 * (p_new ** 2).sum()
    log_accept = (u_current + kinetic) - (u_new + kinetic_new)
    if torch.rand(1, dtype=torch.float64, device=device).log() < log_accept:
        theta, u_current = proposal.detach(), u_new
        accepted += 1
    if it >= burn_in and (it - burn_in) % thin == 0:
        samples.append(theta.clone())
    if it % 10 == 9:
        print(f'iteration {it + 1} | potential {u_current.item():.4f} | '
              f'acceptance {accepted / (it + 1):.3f}')

with torch.no_grad():
    preds = []
    for s in samples:
        vector_to_parameters(s, model.parameters())
        preds.append(model(x_test))
    preds = torch.stack(preds)                             # (S, N, 1)
    mean, var = preds.mean(0).squeeze(1), preds.var(0).squeeze(1)
    truth = torch.sin(1.5 * x_test).squeeze(1)
    in_gap = x_test.squeeze(1).abs() < 0.8
print(f'{len(samples)} kept samples | predictive rmse {(mean - truth).pow(2).mean().sqrt().item():.4f}')
print(f'predictive variance in the gap {var[in_gap].mean().item():.6f}, outside '
      f'{var[~in_gap].mean().item():.6f}')
