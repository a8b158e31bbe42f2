"""Variational inference with ``torch.distributions``, written for the xpnn tests on made-up
targets, after the reparameterisation-gradient recipe (Kingma & Welling, 2014; Ranganath et
al., 2014) as users write it against PyTorch's distributions.

1. Exact densities first, at fixed points: ``Beta``, ``Dirichlet``,
   ``LowRankMultivariateNormal`` (against the ``MultivariateNormal`` of the same covariance
   W W^T + diag(D)), a ``MixtureSameFamily`` of ``Independent(Normal)`` components,
   ``RelaxedOneHotCategorical`` at a temperature, and ``kl_divergence`` of a registered pair
   (two ``Independent(Normal)``) against its Monte Carlo estimate; an unregistered pair
   (``Independent(Normal)`` against the mixture) raises ``NotImplementedError``.
2. ``rsample`` carries gradients, ``sample`` does not.
3. A diagonal Gaussian ``Independent(Normal(mu, softplus(rho)), 1)`` fitted to a 2-D
   mixture target by the reverse KL, estimated by Monte Carlo from ``rsample`` (the pair has
   no closed form).
4. A logit-normal on (0, 1), ``TransformedDistribution(Normal(0, 1),
   ComposeTransform([AffineTransform(m, s), SigmoidTransform()]))``, fitted to a ``Beta``
   target by the same Monte Carlo KL.
5. A ``LowRankMultivariateNormal`` guide fitted to a correlated Gaussian target, where the
   pair is registered: ``kl_divergence`` closed form against the Monte Carlo estimate.
6. A ``Dirichlet`` concentration fitted by maximum likelihood to proportions drawn from a
   known one.

    python tests/pytorch_programs/tutorials/distributions_vi.py
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import distributions as D

torch.manual_seed(13)
rng = np.random.default_rng(13)

# -- 1. densities at fixed points --------------------------------------------------------
beta = D.Beta(torch.tensor(2.0), torch.tensor(5.0))
print(f"Beta(2, 5) log_prob at 0.1 0.3 0.8: "
      f"{[round(v, 4) for v in beta.log_prob(torch.tensor([0.1, 0.3, 0.8])).tolist()]}")
dirichlet = D.Dirichlet(torch.tensor([1.5, 2.0, 3.0]))
print(f"Dirichlet log_prob {dirichlet.log_prob(torch.tensor([0.2, 0.3, 0.5])).item():.4f} "
      f"| mean {[round(v, 4) for v in dirichlet.mean.tolist()]}")

W = torch.tensor([[1.0, 0.0], [0.5, 0.3], [-0.2, 0.8]])
Dg = torch.tensor([0.5, 0.4, 0.3])
loc = torch.tensor([0.1, -0.2, 0.3])
low_rank = D.LowRankMultivariateNormal(loc, cov_factor=W, cov_diag=Dg)
full = D.MultivariateNormal(loc, covariance_matrix=W @ W.T + torch.diag(Dg))
pts = torch.tensor([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
print(f"LowRankMVN log_prob {[round(v, 4) for v in low_rank.log_prob(pts).tolist()]} "
      f"| equals MVN {torch.allclose(low_rank.log_prob(pts), full.log_prob(pts), atol=1e-5)} "
      f"| entropy {low_rank.entropy().item():.4f}")

mix = D.Categorical(probs=torch.tensor([0.3, 0.7]))
comp = D.Independent(D.Normal(torch.tensor([[-2.0, 0.0], [1.5, 1.0]]),
                              torch.tensor([[0.5, 0.8], [0.6, 0.4]])), 1)
target = D.MixtureSameFamily(mix, comp)
print(f"mixture batch {tuple(target.batch_shape)} event {tuple(target.event_shape)} | log_prob"
      f" {[round(v, 4) for v in target.log_prob(torch.tensor([[-2.0, 0.0], [1.0, 1.0]])).tolist()]}"
      f" | mean {[round(v, 4) for v in target.mean.tolist()]}")

relaxed = D.RelaxedOneHotCategorical(torch.tensor(0.5), logits=torch.tensor([1.0, 0.0, -1.0]))
point = torch.tensor([0.7, 0.2, 0.1])
print(f"RelaxedOneHotCategorical(0.5) log_prob {relaxed.log_prob(point).item():.4f}")

p1 = D.Independent(D.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0])), 1)
p2 = D.Independent(D.Normal(torch.tensor([0.5, 0.0]), torch.tensor([1.5, 1.0])), 1)
kl = D.kl_divergence(p1, p2)
print(f"registered kl(Independent Normal) {kl.item():.4f}")
try:
    D.kl_divergence(p1, target)
    print("kl to the mixture: closed form")
except NotImplementedError:
    print("kl to the mixture: NotImplementedError, estimated by Monte Carlo")

# -- 2. rsample versus sample --------------------------------------------------------------
mu = torch.zeros(2, requires_grad=True)
q = D.Normal(mu, torch.ones(2))
print(f"rsample requires grad {q.rsample().requires_grad} | sample requires grad "
      f"{q.sample().requires_grad} | rsample shape {tuple(q.rsample((5,)).shape)}")
z = p1.rsample((4000,))
mc = (p1.log_prob(z) - p2.log_prob(z)).mean()
print(f"monte carlo kl {mc.item():.4f} | within 0.1 of closed form {abs(mc - kl).item() < 0.1}")
soft = relaxed.rsample((3,))
print(f"relaxed samples on the simplex {torch.allclose(soft.sum(-1), torch.ones(3))}")

# -- 3. mean-field Gaussian against the mixture, reverse KL by Monte Carlo --------------------
mu = torch.nn.Parameter(torch.tensor([0.5, -0.5]))
rho = torch.nn.Parameter(torch.zeros(2))
opt = torch.optim.Adam([mu, rho], lr=0.05)
for step in range(1, 201):
    q = D.Independent(D.Normal(mu, F.softplus(rho)), 1)
    z = q.rsample((64,))
    kl_mc = (q.log_prob(z) - target.log_prob(z)).mean()
    opt.zero_grad()
    kl_mc.backward()
    opt.step()
    if step % 50 == 0:
        print(f"gaussian vi step {step} | kl estimate {kl_mc.item():.4f} | mu "
              f"{mu.detach().tolist()[0]:.3f} {mu.detach().tolist()[1]:.3f}")

# -- 4. a logit-normal fitted to a Beta ---------------------------------------------------
m = torch.nn.Parameter(torch.tensor(0.0))
log_s = torch.nn.Parameter(torch.tensor(0.0))
opt = torch.optim.Adam([m, log_s], lr=0.05)
base = D.Normal(torch.tensor(0.0), torch.tensor(1.0))
for step in range(1, 201):
    q = D.TransformedDistribution(
        base, D.ComposeTransform([D.AffineTransform(m, log_s.exp()), D.SigmoidTransform()]))
    x = q.rsample((128,)).clamp(1e-6, 1 - 1e-6)
    kl_mc = (q.log_prob(x) - beta.log_prob(x)).mean()
    opt.zero_grad()
    kl_mc.backward()
    opt.step()
    if step % 50 == 0:
        print(f"logit-normal step {step} | kl estimate {kl_mc.item():.4f} | sample mean "
              f"{x.mean().item():.3f} (beta mean {beta.mean.item():.3f})")

# -- 5. a low-rank guide against a correlated Gaussian ----------------------------------------
target_cov = torch.tensor([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])
gauss = D.MultivariateNormal(torch.tensor([1.0, 0.0, -1.0]), covariance_matrix=target_cov)
g_loc = torch.nn.Parameter(torch.zeros(3))
g_factor = torch.nn.Parameter(0.1 * torch.ones(3, 1))
g_diag = torch.nn.Parameter(torch.zeros(3))
opt = torch.optim.Adam([g_loc, g_factor, g_diag], lr=0.05)
for step in range(1, 201):
    guide = D.LowRankMultivariateNormal(g_loc, g_factor, F.softplus(g_diag) + 1e-3)
    loss = D.kl_divergence(guide, gauss)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 50 == 0:
        with torch.no_grad():   # a fresh guide: the step moved the parameters in place
            guide = D.LowRankMultivariateNormal(g_loc, g_factor, F.softplus(g_diag) + 1e-3)
            kl = D.kl_divergence(guide, gauss)
            z = guide.rsample((4000,))
            mc = (guide.log_prob(z) - gauss.log_prob(z)).mean()
        print(f"low-rank guide step {step} | kl {kl.item():.4f} | monte carlo agrees "
              f"{abs(mc - kl).item() < 0.02 + 0.2 * kl.item()}")

# -- 6. Dirichlet maximum likelihood --------------------------------------------------------
true_alpha = np.array([2.0, 5.0, 3.0])
data = torch.from_numpy(rng.dirichlet(true_alpha, 500).astype(np.float32))
log_alpha = torch.nn.Parameter(torch.zeros(3))
opt = torch.optim.Adam([log_alpha], lr=0.1)
for step in range(1, 201):
    nll = -D.Dirichlet(log_alpha.exp()).log_prob(data).mean()
    opt.zero_grad()
    nll.backward()
    opt.step()
    if step % 50 == 0:
        print(f"dirichlet mle step {step} | nll {nll.item():.4f} | alpha "
              f"{[round(v, 2) for v in log_alpha.exp().tolist()]}")
