"""A masked autoregressive flow (Papamakarios et al., 2017, "Masked Autoregressive Flow for
Density Estimation") built from MADE blocks (Germain et al., 2015, "MADE: Masked Autoencoder
for Distribution Estimation"), written for the xpnn tests on a made-up two-moons density.

A MADE is an MLP whose ``nn.Linear`` subclasses multiply their weights by a 0/1 mask kept by
``register_buffer`` (``F.linear(x, self.weight * self.mask, self.bias)``), so output i sees
only inputs that come before i in the block's order. The inputs' degrees come from
``torch.arange`` (a reversed order by ``flip``), the hidden units' degrees cycle through
1..D-1, and the masks compare degrees; a 5-D MADE in a ``torch.randperm`` order is checked
at the end to be autoregressive by ``autograd.grad``. Each MADE gives a shift mu and a
log-scale alpha per dimension; the flow maps x to u = (x - mu) * exp(-alpha), so log p(x) is
the standard normal's ``torch.distributions.Normal(0, 1).log_prob(u)`` summed over
dimensions plus the sum of -alpha. Four MADEs are stacked with the order reversed by
``flip`` between them; training maximises the likelihood by Adam on minibatches from a
shuffling ``DataLoader``. Then, under ``torch.no_grad``, the inverse pass builds samples one
dimension at a time (a MADE's i-th outputs depend only on the dimensions already made),
checked to map back to their noise, and the samples' moments are compared with the data's.

    python tests/pytorch_programs/tutorials/made_maf_flow.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
D, HIDDEN, BLOCKS = 2, 64, 4


def two_moons(n):
    """Two interleaved half circles with a little noise."""
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    data = np.stack([x - 0.5, 2 * (y - 0.25)], axis=1) + 0.08 * rng.standard_normal((n, 2))
    return torch.tensor(data, dtype=torch.float32, device=device)


class MaskedLinear(nn.Linear):
    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def set_mask(self, mask):
        self.mask.copy_(mask.to(self.mask.dtype))

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Outputs (mu, alpha), each (N, D); output i depends on the inputs before i in order."""

    def __init__(self, dim, hidden, order):
        super().__init__()
        self.dim = dim
        self.net = nn.ModuleList([MaskedLinear(dim, hidden), MaskedLinear(hidden, hidden),
                                  MaskedLinear(hidden, 2 * dim)])
        self.register_buffer("order", order)
        in_deg = order + 1                                  # degrees 1..D
        hid_deg = torch.arange(hidden) % max(dim - 1, 1) + 1
        out_deg = torch.cat([in_deg, in_deg])
        self.net[0].set_mask(hid_deg[:, None] >= in_deg[None, :])
        self.net[1].set_mask(hid_deg[:, None] >= hid_deg[None, :])
        self.net[2].set_mask(out_deg[:, None] > hid_deg[None, :])

    def forward(self, x):
        h = F.relu(self.net[0](x))
        h = F.relu(self.net[1](h))
        mu, alpha = self.net[2](h).chunk(2, dim=1)
        return mu, torch.tanh(alpha)                        # bounded log-scales


class MAF(nn.Module):
    def __init__(self, dim, hidden, blocks):
        super().__init__()
        first = torch.arange(dim)
        orders = [first if k % 2 == 0 else first.flip(0) for k in range(blocks)]
        self.blocks = nn.ModuleList([MADE(dim, hidden, order) for order in orders])
        self.base = Normal(torch.tensor(0.0, device=device), torch.tensor(1.0, device=device))

    def forward(self, x):
        """x -> (u, sum of log|det du/dx|)."""
        log_det = torch.zeros(x.shape[0], device=x.device)
        for made in self.blocks:
            mu, alpha = made(x)
            x = (x - mu) * torch.exp(-alpha)
            log_det = log_det - alpha.sum(dim=1)
            x = x.flip(1)                                    # reverse the order between blocks
        return x, log_det

    def log_prob(self, x):
        u, log_det = self(x)
        return self.base.log_prob(u).sum(dim=1) + log_det

    @torch.no_grad()
    def inverse(self, u):
        x = u
        for made in reversed(self.blocks):
            x = x.flip(1)
            out = torch.zeros_like(x)
            for i in torch.argsort(made.order).tolist():      # dimension by dimension
                mu, alpha = made(out)
                out[:, i] = x[:, i] * torch.exp(alpha[:, i]) + mu[:, i]
            x = out
        return x


train, test = two_moons(2048), two_moons(512)
flow = MAF(D, HIDDEN, BLOCKS).to(device)
optimizer = torch.optim.Adam(flow.parameters(), lr=3e-3)
with torch.no_grad():
    print(f"untrained | test NLL {-flow.log_prob(test).mean().item():.4f}")

loader = DataLoader(TensorDataset(train), batch_size=256, shuffle=True)
for epoch in range(1, 11):
    total = 0.0
    for (batch,) in loader:
        optimizer.zero_grad()
        loss = -flow.log_prob(batch).mean()
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_nll = -flow.log_prob(test).mean().item()
    print(f"epoch {epoch:2d} | train NLL {total / len(loader):.4f} | "
          f"test NLL {test_nll:.4f}")

with torch.no_grad():
    u = torch.randn(1000, D, device=device)
    samples = flow.inverse(u)
    back, _ = flow(samples)
    print(f"inverse round trip agrees: {torch.allclose(back, u, atol=1e-4)}")
    print(f"sample mean {samples.mean(0).tolist()} | data mean {train.mean(0).tolist()}")
    print(f"sample std {samples.std(0).tolist()} | data std {train.std(0).tolist()}")
    print(f"samples' NLL under the flow {-flow.log_prob(samples).mean().item():.4f}")

# the autoregressive property of a 5-D MADE in a random order: d mu_i / d x_j is zero unless
# x_j comes before x_i in that order
order = torch.randperm(5)
made = MADE(5, 32, order).to(device)
x = torch.randn(3, 5, device=device, requires_grad=True)
allowed = order[None, :] < order[:, None]                  # [i, j]: j before i
ok = True
for i in range(5):
    mu, _ = made(x)
    (grad,) = torch.autograd.grad(mu[:, i].sum(), x)
    ok = ok and bool(((grad.abs().sum(0) > 0) <= allowed[i]).all())
print(f"5-D MADE in a randperm order is autoregressive: {ok}")
