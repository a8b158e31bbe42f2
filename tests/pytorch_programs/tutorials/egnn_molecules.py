"""An E(n)-equivariant graph neural network (Satorras, Hoogeboom and Welling, 2021,
"E(n) Equivariant Graph Neural Networks"), written for the xpnn tests after the paper's
layer, learning a made-up pair potential on small random point clouds with force matching.

Each "molecule" holds six atoms of three types at random positions; its energy is a sum of
Morse terms over atom pairs with a type-dependent well depth, and its forces come from
``torch.autograd.grad``. The network's edges join the atoms of a molecule closer than a
radius: candidate pairs from ``torch.combinations``, distances from ``torch.cdist``, kept
pairs by ``nonzero``, both directions by ``torch.cat``. An EGNN layer makes messages from
both atoms' features and their squared distance, sums them per atom by ``index_add_``, moves
each atom by the mean over its neighbours of (x_i - x_j) * phi_x(m_ij)
(``Tensor.scatter_reduce(reduce="mean", include_self=False)``) and counts neighbours by
``scatter_add_``; the energy is a per-atom readout summed per molecule by ``index_add``.
Forces are ``-torch.autograd.grad(energy, pos, create_graph=True)``, so the force-matching
loss trains through a double backward. A random rotation (``torch.linalg.qr`` of a Gaussian
matrix, signs fixed by R's diagonal and ``torch.det``) must leave the energy unchanged and
rotate the forces, checked by ``torch.allclose``.

    python tests/pytorch_programs/tutorials/egnn_molecules.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

N_ATOMS, N_TYPES, RADIUS = 6, 3, 2.6
PAIRS = torch.combinations(torch.arange(N_ATOMS), r=2)
DEPTH = torch.tensor([[1.0, 0.6, 0.3], [0.6, 0.8, 0.5], [0.3, 0.5, 1.2]])


def morse_energy(pos, types):
    """pos (B, N, 3), types (B, N) -> energy (B,)."""
    i, j = PAIRS[:, 0], PAIRS[:, 1]
    r = (pos[:, i] - pos[:, j]).norm(dim=-1)
    depth = DEPTH[types[:, i], types[:, j]]
    return (depth * ((1 - torch.exp(-1.5 * (r - 1.2))).pow(2) - 1)).sum(-1)


def make_molecules(count):
    pos = torch.tensor(rng.normal(0, 1.2, (count, N_ATOMS, 3)), dtype=torch.float32)
    types = torch.tensor(rng.integers(0, N_TYPES, (count, N_ATOMS)))
    pos.requires_grad_(True)
    energy = morse_energy(pos, types)
    forces = -torch.autograd.grad(energy.sum(), pos)[0]
    return pos.detach(), types, energy.detach(), forces


def radius_graph(pos):
    """Edges (src, dst) over the flattened atoms of a batch, both directions."""
    dist = torch.cdist(pos, pos)
    close = dist[:, PAIRS[:, 0], PAIRS[:, 1]] < RADIUS
    mol, pair = close.nonzero().unbind(1)
    a = mol * N_ATOMS + PAIRS[pair, 0]
    b = mol * N_ATOMS + PAIRS[pair, 1]
    return torch.cat([a, b]), torch.cat([b, a])


class EGNNLayer(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.phi_e = nn.Sequential(nn.Linear(2 * hidden + 1, hidden), nn.SiLU(),
                                   nn.Linear(hidden, hidden), nn.SiLU())
        self.phi_x = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.phi_h = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(),
                                   nn.Linear(hidden, hidden))

    def forward(self, h, x, src, dst):
        diff = x[dst] - x[src]
        d2 = diff.pow(2).sum(-1, keepdim=True)
        m = self.phi_e(torch.cat([h[dst], h[src], d2], dim=-1))
        agg = torch.zeros_like(h).index_add_(0, dst, m)
        shift = diff * torch.tanh(self.phi_x(m))
        move = torch.zeros_like(x).scatter_reduce(0, dst[:, None].expand(-1, 3), shift,
                                                  reduce="mean", include_self=False)
        h = h + self.phi_h(torch.cat([h, agg], dim=-1))
        return h, x + move


class EGNN(nn.Module):
    def __init__(self, hidden=32, layers=3):
        super().__init__()
        self.embed = nn.Embedding(N_TYPES, hidden)
        self.layers = nn.ModuleList(EGNNLayer(hidden) for _ in range(layers))
        self.readout = nn.Sequential(nn.Linear(hidden + 1, hidden), nn.SiLU(),
                                     nn.Linear(hidden, 1))

    def forward(self, pos, types):
        count = pos.shape[0]
        src, dst = radius_graph(pos)
        x = pos.reshape(-1, 3)
        h = self.embed(types.reshape(-1))
        degree = torch.zeros(x.shape[0]).scatter_add_(0, dst, torch.ones(dst.shape[0]))
        for layer in self.layers:
            h, x = layer(h, x, src, dst)
        atom = self.readout(torch.cat([h, degree[:, None] / N_ATOMS], -1)).squeeze(-1)
        mol = torch.arange(count).repeat_interleave(N_ATOMS)
        return torch.zeros(count).index_add(0, mol, atom), src.shape[0]


def energy_and_forces(model, pos, types, create_graph):
    pos = pos.clone().requires_grad_(True)
    energy, edges = model(pos, types)
    forces = -torch.autograd.grad(energy.sum(), pos, create_graph=create_graph)[0]
    return energy, forces, edges


train = make_molecules(256)
test = make_molecules(64)
print(f'pairs per molecule {PAIRS.shape[0]}, energy mean {train[2].mean().item():.4f} '
      f'std {train[2].std().item():.4f}, force rms {train[3].pow(2).mean().sqrt().item():.4f}')
e_mean, e_std = train[2].mean(), train[2].std()

model = EGNN()
print(f'parameters {sum(p.numel() for p in model.parameters())}')
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
loader = DataLoader(TensorDataset(*train), batch_size=32, shuffle=True)


def normalized(energy):
    return (energy - e_mean) / e_std


def evaluate():
    pos, types, energy, forces = test
    pred_e, pred_f, edges = energy_and_forces(model, pos, types, create_graph=False)
    e_mae = (pred_e.detach() * e_std + e_mean - energy).abs().mean().item()
    f_mae = (pred_f.detach() * e_std - forces).abs().mean().item()
    return e_mae, f_mae, edges


def rotation_check(tag):
    gauss = torch.randn(3, 3)
    q, r = torch.linalg.qr(gauss)
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    pos, types = test[0][:8], test[1][:8]
    e1, f1, n1 = energy_and_forces(model, pos, types, create_graph=False)
    e2, f2, n2 = energy_and_forces(model, pos @ q.T, types, create_graph=False)
    print(f'{tag}: det {torch.det(q).item():.4f}, orthogonal '
          f'{torch.allclose(q @ q.T, torch.eye(3), atol=1e-5)}, edges {n1} {n2}, energy '
          f'invariant {torch.allclose(e1, e2, atol=1e-4)}, forces rotate '
          f'{torch.allclose(f1 @ q.T, f2, atol=1e-4)}')


rotation_check('untrained')
e_mae, f_mae, edges = evaluate()
print(f'untrained | test energy mae {e_mae:.4f} | force mae {f_mae:.4f} | edges {edges}')

for epoch in range(1, 7):
    total = 0.0
    for pos, types, energy, forces in loader:
        pred_e, pred_f, _ = energy_and_forces(model, pos, types, create_graph=True)
        loss = F.mse_loss(pred_e, normalized(energy)) + F.mse_loss(pred_f, forces / e_std)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    e_mae, f_mae, _ = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test energy mae '
          f'{e_mae:.4f} | force mae {f_mae:.4f}')

rotation_check('trained')
