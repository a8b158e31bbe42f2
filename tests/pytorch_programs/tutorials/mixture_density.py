"""A mixture density network for an inverse problem, written small for the xpnn tests after
Bishop's mixture density networks (1994) and his robot-arm example: a two-link arm's joint
angles y = (theta1, theta2) give its hand position x = f(y) + noise, and the network
predicts the angles from the position, a question with two answers (elbow up, elbow down)
that a least-squares regression averages into a wrong one.

The network's outputs parametrise ``torch.distributions.MixtureSameFamily`` of
``Categorical(logits=...)`` over ``Independent(Normal(loc, scale), 1)`` components (scale
by softplus); training minimises ``-log_prob(y).mean()`` with Adam under a DataLoader.
Afterwards: the test negative log-likelihood, the hand-position error of angles drawn by
``.sample()`` against that of the mixture's mean, an entropy estimate of one predictive
distribution by Monte Carlo (``-log_prob`` of its own samples), and the
``torch.distributions.kl_divergence`` between its two heaviest components (the two
branches of the solution).

    python tests/pytorch_programs/tutorials/mixture_density.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal
from torch.distributions import kl_divergence
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
rng = np.random.default_rng(2)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
L1, L2 = 0.8, 0.6


def forward_kinematics(angles):
    t1, t2 = angles[..., 0], angles[..., 1]
    return torch.stack([L1 * torch.cos(t1) + L2 * torch.cos(t1 + t2),
                        L1 * torch.sin(t1) + L2 * torch.sin(t1 + t2)], dim=-1)


def make_data(n):
    angles = np.stack([rng.uniform(0.3, 1.2, n), rng.uniform(-2.2, 2.2, n)], axis=1)
    angles = angles[np.abs(angles[:, 1]) > 0.4]
    y = torch.tensor(angles, dtype=torch.float32)
    x = forward_kinematics(y) + torch.tensor(0.01 * rng.standard_normal((len(y), 2)),
                                             dtype=torch.float32)
    return x, y


class MDN(nn.Module):
    def __init__(self, components=4, hidden=64, dim=2):
        super().__init__()
        self.components, self.dim = components, dim
        self.body = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                                  nn.Tanh())
        self.logits = nn.Linear(hidden, components)
        self.loc = nn.Linear(hidden, components * dim)
        self.scale = nn.Linear(hidden, components * dim)

    def forward(self, x):
        h = self.body(x)
        loc = self.loc(h).view(-1, self.components, self.dim)
        scale = F.softplus(self.scale(h)).view(-1, self.components, self.dim) + 1e-3
        return MixtureSameFamily(Categorical(logits=self.logits(h)),
                                 Independent(Normal(loc, scale), 1))


train_x, train_y = make_data(1400)
test_x, test_y = make_data(400)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=100, shuffle=True)
model = MDN().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=4e-3)
print(f'train {len(train_x)} points, test {len(test_x)} points')

for epoch in range(1, 11):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = -model(x).log_prob(y).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    model.eval()
    with torch.no_grad():
        test_nll = -model(test_x.to(device)).log_prob(test_y.to(device)).mean().item()
    print(f'epoch {epoch:2d} | train nll {total / count:.4f} | test nll {test_nll:.4f}')

with torch.no_grad():
    dist = model(test_x.to(device))
    mean_error = (forward_kinematics(dist.mean) - test_x).norm(dim=-1).mean().item()
    weights = dist.mixture_distribution.probs
    print(f'mixture batch shape {tuple(dist.batch_shape)}, event shape {tuple(dist.event_shape)}')
    print(f'heaviest component weight on average {weights.max(dim=-1).values.mean().item():.3f}')
    print(f'hand error of the mixture mean {mean_error:.4f}')
    samples = dist.sample()
    sample_error = (forward_kinematics(samples) - test_x).norm(dim=-1).mean().item()
    print(f'hand error of sampled angles {sample_error:.4f}')
    one = model(test_x[:1].to(device))
    draws = one.sample((2000,))
    entropy = -one.log_prob(draws).mean().item()
    print(f'entropy estimate of the first predictive distribution {entropy:.3f} nats')
    top = weights[0].topk(2).indices
    comp = one.component_distribution
    first = Independent(Normal(comp.base_dist.loc[0, top[0]], comp.base_dist.scale[0, top[0]]), 1)
    second = Independent(Normal(comp.base_dist.loc[0, top[1]], comp.base_dist.scale[0, top[1]]), 1)
    print(f'kl(heaviest || second) {kl_divergence(first, second).item():.2f}, '
          f'component entropies {first.entropy().item():.3f} and {second.entropy().item():.3f}')
