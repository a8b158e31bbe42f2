"""Entropic optimal transport by log-domain Sinkhorn iterations (Cuturi, 2013, "Sinkhorn
Distances: Lightspeed Computation of Optimal Transport"), written for the xpnn tests after
the log-domain algorithm of Peyre and Cuturi's "Computational Optimal Transport", moving a
made-up point cloud onto a target.

The cost between two clouds is ``torch.cdist(x, y, p=2) ** 2``; the dual potentials f and g
are updated alternately by ``torch.logsumexp`` over either dim of (g - C) / eps and (f - C) /
eps, a fixed number of times, and the transport plan is exp((f + g - C) / eps) weighted by
the marginals. Its row and column sums are checked against the marginals by
``torch.allclose``. The Sinkhorn cost <P, C> is differentiated through the iterations (no
detaching) to move the source cloud, an ``nn.Parameter`` in a module, onto the target by
Adam; at the end the barycentric map P y / P 1 is taken under ``torch.no_grad()``.

    python tests/pytorch_programs/tutorials/sinkhorn_ot.py
"""
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def ring(count, radius=1.5, noise=0.05):
    angle = rng.uniform(0, 2 * math.pi, count)
    r = radius + rng.normal(0, noise, count)
    pts = np.stack([r * np.cos(angle), r * np.sin(angle)], 1) + [0.5, -0.3]
    return torch.from_numpy(pts.astype(np.float32))


def sinkhorn(x, y, eps=0.1, iters=50):
    """Log-domain Sinkhorn between uniform clouds: (plan, cost <P, C>)."""
    n, m = x.shape[0], y.shape[0]
    log_a = torch.full((n,), -math.log(n), device=x.device)
    log_b = torch.full((m,), -math.log(m), device=x.device)
    C = torch.cdist(x, y, p=2) ** 2
    f = torch.zeros(n, device=x.device)
    g = torch.zeros(m, device=x.device)
    for _ in range(iters):
        f = -eps * torch.logsumexp((g[None, :] - C) / eps + log_b[None, :], dim=1)
        g = -eps * torch.logsumexp((f[:, None] - C) / eps + log_a[:, None], dim=0)
    log_plan = (f[:, None] + g[None, :] - C) / eps + log_a[:, None] + log_b[None, :]
    plan = torch.exp(log_plan)
    return plan, (plan * C).sum()


class Cloud(nn.Module):
    def __init__(self, count):
        super().__init__()
        self.points = nn.Parameter(torch.randn(count, 2) * 0.4)

    def forward(self):
        return self.points


target = ring(96).to(device)
model = Cloud(64).to(device)

with torch.no_grad():
    plan, cost = sinkhorn(model(), target)
    row_error = (plan.sum(1) * 64 - 1).abs().max()
    cols_ok = torch.allclose(plan.sum(0), torch.full((96,), 1 / 96), atol=1e-5)
print(f'plan {tuple(plan.shape)}, mass {plan.sum().item():.5f}, marginals: columns {cols_ok}'
      f' (the last update), rows within {row_error.item():.4f} relative; cost '
      f'{cost.item():.4f}')

optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(1, 61):
    plan, cost = sinkhorn(model(), target)
    optimizer.zero_grad()
    cost.backward()
    optimizer.step()
    if step % 10 == 0:
        grad_norm = model.points.grad.norm().item()
        radius = (model.points - torch.tensor([0.5, -0.3])).norm(dim=1).mean().item()
        print(f'step {step:3d} | sinkhorn cost {cost.item():.4f} | grad norm {grad_norm:.4f} '
              f'| mean radius {radius:.3f}')

with torch.no_grad():
    plan, cost = sinkhorn(model(), target)
    cols_ok = torch.allclose(plan.sum(0), torch.full((96,), 1 / 96), atol=1e-4)
    mapped = (plan @ target) / plan.sum(1, keepdim=True)
    shift = (mapped - model.points).norm(dim=1).mean()
    nearest = torch.cdist(mapped, target).min(dim=1).values.mean()
print(f'final cost {cost.item():.4f}, column marginals {cols_ok}; barycentric map moves '
      f'points by {shift.item():.4f}, lands {nearest.item():.4f} from the target')
