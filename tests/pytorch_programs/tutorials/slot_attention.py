"""Slot Attention (Locatello et al., 2020, "Object-Centric Learning with Slot Attention"),
written for the xpnn tests after the paper's algorithm, on a made-up set-prediction task.

Each example is a set of 24 noisy 2-D points scattered around four hidden centres; the
task is to output the four centres as a set. A shared per-point MLP embeds the points; K
slots are sampled from a learned Normal(mu, sigma) by ``torch.randn``, then refined for
three iterations: the slots (after a LayerNorm) query the inputs, the attention is a
softmax over the slots (so the slots compete for every input), plus eps, renormalised over
the inputs into a weighted mean of the values, and each slot is updated by an
``nn.GRUCell`` followed by a residual MLP. Every slot is decoded to a point. Sets have no
order, so the loss is the Chamfer distance from ``torch.cdist`` minima in both directions;
the Hungarian-free matching error (both sets sorted by their x coordinate) and how many
slots win some point under the attention are printed too.

    python tests/pytorch_programs/tutorials/slot_attention.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
N_POINTS, N_OBJECTS, DIM = 24, 4, 32


def make_sets(count):
    """Centres spread in [-1, 1]^2 (at least 0.5 apart), six points around each."""
    centres = np.zeros((count, N_OBJECTS, 2))
    for i in range(count):
        k = 0
        while k < N_OBJECTS:
            c = rng.uniform(-1, 1, 2)
            if k == 0 or np.min(np.linalg.norm(centres[i, :k] - c, axis=1)) > 0.5:
                centres[i, k] = c
                k += 1
    owner = np.repeat(np.arange(N_OBJECTS), N_POINTS // N_OBJECTS)
    points = centres[:, owner] + 0.08 * rng.standard_normal((count, N_POINTS, 2))
    perm = rng.permuted(np.tile(np.arange(N_POINTS), (count, 1)), axis=1)
    points = np.take_along_axis(points, perm[..., None], axis=1)
    owner = owner[perm]
    return (torch.tensor(points, dtype=torch.float32),
            torch.tensor(centres, dtype=torch.float32), torch.tensor(owner))


class SlotAttention(nn.Module):
    def __init__(self, num_slots, dim, iters=3, eps=1e-8, hidden=64):
        super().__init__()
        self.num_slots, self.iters, self.eps = num_slots, iters, eps
        self.scale = dim ** -0.5
        self.slots_mu = nn.Parameter(torch.randn(1, 1, dim))
        self.slots_log_sigma = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.xavier_uniform_(self.slots_log_sigma)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.gru = nn.GRUCell(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.norm_inputs = nn.LayerNorm(dim)
        self.norm_slots = nn.LayerNorm(dim)
        self.norm_mlp = nn.LayerNorm(dim)

    def forward(self, inputs):
        b, n, d = inputs.shape
        mu = self.slots_mu.expand(b, self.num_slots, -1)
        sigma = self.slots_log_sigma.exp().expand(b, self.num_slots, -1)
        slots = mu + sigma * torch.randn(mu.shape, device=inputs.device)
        inputs = self.norm_inputs(inputs)
        k, v = self.to_k(inputs), self.to_v(inputs)
        for _ in range(self.iters):
            slots_prev = slots
            q = self.to_q(self.norm_slots(slots))
            dots = torch.einsum('bid,bjd->bij', q, k) * self.scale
            attn = dots.softmax(dim=1) + self.eps  # slots compete for each input
            weights = attn / attn.sum(dim=-1, keepdim=True)
            updates = torch.einsum('bjd,bij->bid', v, weights)
            slots = self.gru(updates.reshape(-1, d), slots_prev.reshape(-1, d))
            slots = slots.reshape(b, -1, d)
            slots = slots + self.mlp(self.norm_mlp(slots))
        return slots, attn


class SetPredictor(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(2, DIM), nn.ReLU(), nn.Linear(DIM, DIM))
        self.slot_attention = SlotAttention(N_OBJECTS, DIM)
        self.decode = nn.Sequential(nn.Linear(DIM, DIM), nn.ReLU(), nn.Linear(DIM, 2))

    def forward(self, points):
        slots, attn = self.slot_attention(self.embed(points))
        return self.decode(slots), attn


def chamfer(pred, target):
    d = torch.cdist(pred, target)
    return d.min(dim=2).values.mean() + d.min(dim=1).values.mean()


def sorted_error(pred, target):
    """Hungarian-free matching: both sets sorted by their x coordinate."""
    p = torch.gather(pred, 1, pred[..., :1].argsort(dim=1).expand(-1, -1, 2))
    t = torch.gather(target, 1, target[..., :1].argsort(dim=1).expand(-1, -1, 2))
    return (p - t).pow(2).sum(-1).mean()


def slots_used(attn):
    """How many slots win at least one point of a set, on average."""
    winners = F.one_hot(attn.argmax(dim=1), N_OBJECTS)  # (b, n, slots)
    return winners.amax(dim=1).sum(dim=1).float().mean()


train_points, train_centres, _ = make_sets(512)
test_points, test_centres, _ = make_sets(128)
print(f'train sets {tuple(train_points.shape)} -> centres {tuple(train_centres.shape)}')

model = SetPredictor().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
loader = DataLoader(TensorDataset(train_points, train_centres), batch_size=64, shuffle=True)


def evaluate():
    model.eval()
    with torch.no_grad():
        pred, attn = model(test_points.to(device))
        target = test_centres.to(device)
        loss = chamfer(pred, target).item()
        error = sorted_error(pred, target).item()
        used = slots_used(attn).item()
    model.train()
    return loss, error, used


loss, error, used = evaluate()
print(f'untrained | test chamfer {loss:.4f} | sorted error {error:.4f} | slots used {used:.2f}')
for epoch in range(1, 9):
    total = 0.0
    for points, centres in loader:
        points, centres = points.to(device), centres.to(device)
        pred, _ = model(points)
        loss = chamfer(pred, centres)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    loss, error, used = evaluate()
    print(f'epoch {epoch} | train chamfer {total / len(loader):.4f} | test chamfer {loss:.4f} '
          f'| sorted error {error:.4f} | slots used {used:.2f}')

sigma = model.slot_attention.slots_log_sigma.exp()
print(f'slot sigma mean {sigma.mean().item():.4f}')
