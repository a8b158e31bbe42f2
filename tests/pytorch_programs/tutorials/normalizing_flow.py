"""A small RealNVP-style normalizing flow trained by maximum likelihood, written for the
xpnn tests, on 384 made-up points of a 2-D banana (x2 = x1^2 / 2 + noise).

Four affine coupling layers (each scales and shifts one coordinate by a small MLP of the
other) map the data to ``u``; the last, element-wise, layer is a
``torch.distributions.TransformedDistribution`` of an ``Independent(Normal)`` base under an
``AffineTransform`` whose loc and scale are learned, so log p(x) = q.log_prob(u) + the
couplings' log-determinants. ``kl_divergence`` of the fitted element-wise Normal from the
base is printed, and a SAC-style tanh-squashed Normal (``TanhTransform``) checks its
log-density against the change-of-variables formula.

    python tests/pytorch_programs/tutorials/normalizing_flow.py
"""
import math

import torch
import torch.nn as nn
from torch.distributions import Independent, Normal, TransformedDistribution, kl_divergence
from torch.distributions.transforms import AffineTransform, TanhTransform
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)

x1 = torch.randn(384, 1)
data = torch.cat([x1, 0.5 * x1 ** 2 + 0.3 * torch.randn(384, 1)], dim=1)
data = (data - data.mean(0)) / data.std(0)
print('data:', tuple(data.shape), 'std', data.std(0).tolist())
loader = DataLoader(TensorDataset(data), batch_size=64, shuffle=True)


class Coupling(nn.Module):
    """Scales and shifts coordinate ``1 - keep`` by functions of coordinate ``keep``."""

    def __init__(self, keep, hidden=32):
        super().__init__()
        self.keep = keep
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def extra_repr(self):
        return 'keep={}'.format(self.keep)

    def forward(self, x):
        a, b = x[:, self.keep:self.keep + 1], x[:, 1 - self.keep:2 - self.keep]
        log_s, t = self.net(a).chunk(2, dim=1)
        log_s = torch.tanh(log_s)
        b = b * torch.exp(log_s) + t
        out = torch.cat([a, b], dim=1) if self.keep == 0 else torch.cat([b, a], dim=1)
        return out, log_s.squeeze(1)

    def inverse(self, y):
        a, b = y[:, self.keep:self.keep + 1], y[:, 1 - self.keep:2 - self.keep]
        log_s, t = self.net(a).chunk(2, dim=1)
        b = (b - t) * torch.exp(-torch.tanh(log_s))
        return torch.cat([a, b], dim=1) if self.keep == 0 else torch.cat([b, a], dim=1)


class Flow(nn.Module):
    def __init__(self, n_layers=4):
        super().__init__()
        self.layers = nn.ModuleList(Coupling(i % 2) for i in range(n_layers))
        self.loc = nn.Parameter(torch.zeros(2))
        self.log_scale = nn.Parameter(torch.zeros(2))
        self.register_buffer('base_loc', torch.zeros(2))
        self.register_buffer('base_scale', torch.ones(2))

    def last(self):
        base = Independent(Normal(self.base_loc, self.base_scale), 1)
        return TransformedDistribution(base, [AffineTransform(self.loc, self.log_scale.exp())])

    def forward(self, x):
        log_det = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return self.last().log_prob(x) + log_det

    def sample(self, n):
        u = self.last().sample((n,))
        for layer in reversed(self.layers):
            u = layer.inverse(u)
        return u


flow = Flow()
print(flow)
optimizer = torch.optim.Adam(flow.parameters(), lr=5e-3)

for epoch in range(1, 11):
    total = 0.0
    for (x,) in loader:
        optimizer.zero_grad()
        loss = -flow(x).mean()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    with torch.no_grad():
        nll = -flow(data).mean()
    print('epoch {:2d} | train nll {:.4f} | full-data nll {:.4f}'.format(
        epoch, total / len(data), nll.item()))

with torch.no_grad():
    fitted = Independent(Normal(flow.loc, flow.log_scale.exp()), 1)
    base = Independent(Normal(torch.zeros(2), torch.ones(2)), 1)
    print('KL(fitted || base): {:.4f}'.format(kl_divergence(fitted, base).item()))
    print('last layer:', flow.last().batch_shape, flow.last().event_shape)

    samples = flow.sample(1000)
    print('samples:', tuple(samples.shape), samples.dtype)

    # a SAC-style policy: a Normal squashed by tanh; its log-density by change of variables
    mu, std = torch.tensor([[0.2, -0.5]]), torch.tensor([[0.6, 0.3]])
    policy = TransformedDistribution(Normal(mu, std), [TanhTransform(cache_size=1)])
    action = policy.rsample((5,))
    log_prob = policy.log_prob(action).sum(-1)
    pre = torch.atanh(action.clamp(-0.999999, 0.999999))
    manual = (Normal(mu, std).log_prob(pre) - torch.log(1 - action ** 2)).sum(-1)
    print('actions:', tuple(action.shape), 'log_prob:', tuple(log_prob.shape),
          'in (-1, 1):', bool((action.abs() < 1).all()))
    print('tanh log_prob as the formula:', torch.allclose(log_prob, manual, atol=1e-3))
    print('entropy of the base: {:.4f} (2 log(2 pi e) / 2 = {:.4f})'.format(
        float(base.entropy()), math.log(2 * math.pi * math.e)))
