"""A multiresolution hash encoding (Mueller et al., 2022, "Instant Neural Graphics Primitives
with a Multiresolution Hash Encoding"), written for the xpnn tests after the paper's
gigapixel-image experiment, fitted to a made-up 48x48 RGB image.

Each of the encoding's levels is a grid of a finer resolution (a geometric series between
N_min and N_max). A pixel's coordinate in [0, 1]^2 is scaled to the level's resolution; the
cell's lower corner is ``torch.floor(...).long()`` and the four corners' feature vectors come
from the level's ``nn.Embedding`` table at hashed indices: the spatial hash
(x * 1) xor (y * 2654435761) of int64 products by a large prime (``torch.bitwise_xor``),
reduced into the table by ``%`` on one level and ``&`` with a power-of-two mask on the
others (the same numbers, checked once). The corners are blended by bilinear weights from
the fractional part, the levels' features concatenated, and a small MLP maps them to RGB.

The tables are initialised by ``nn.init.uniform_(-1e-4, 1e-4)`` as in the paper; Adam has two
parameter groups, the tables with the paper's betas=(0.9, 0.99) and eps=1e-15, the MLP with
the defaults and a little weight decay. The pixels come in shuffled mini-batches from a
DataLoader; the PSNR of the full image is printed per epoch, along with the number of hash
collisions per level (``torch.unique``).

    python tests/pytorch_programs/tutorials/neural_hash_grid.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

H = W = 48
PRIME = 2654435761


def make_image():
    """Smooth colour gradients with a few sharp discs: fine detail for the fine levels."""
    ys, xs = np.meshgrid(np.linspace(0, 1, H), np.linspace(0, 1, W), indexing='ij')
    r = 0.5 + 0.5 * np.sin(6 * xs + 2 * ys)
    g = 0.5 + 0.5 * np.cos(5 * ys - 3 * xs * ys)
    b = 0.5 * (xs + ys)
    img = np.stack([r, g, b], axis=-1)
    for cy, cx, rad, col in ((0.3, 0.3, 0.12, (1, 0, 0)), (0.7, 0.6, 0.08, (0, 0, 1)),
                             (0.5, 0.8, 0.1, (1, 1, 0))):
        inside = (ys - cy) ** 2 + (xs - cx) ** 2 < rad ** 2
        img[inside] = col
    coords = np.stack([xs, ys], axis=-1).reshape(-1, 2)
    return (torch.tensor(coords, dtype=torch.float32),
            torch.tensor(img.reshape(-1, 3), dtype=torch.float32))


def spatial_hash(corner, table_size, use_mask):
    """corner: (..., 2) int64 grid coordinates -> (...) int64 indices in the table."""
    h = torch.bitwise_xor(corner[..., 0] * 1, corner[..., 1] * PRIME)
    if use_mask:
        return h & (table_size - 1)
    return h % table_size


class HashGrid(nn.Module):
    def __init__(self, levels=6, log2_table=9, features=2, n_min=4, n_max=48):
        super().__init__()
        self.table_size = 2 ** log2_table
        growth = math.exp((math.log(n_max) - math.log(n_min)) / (levels - 1))
        self.resolutions = [int(math.floor(n_min * growth ** level)) for level in range(levels)]
        self.tables = nn.ModuleList(nn.Embedding(self.table_size, features)
                                    for _ in range(levels))
        for table in self.tables:
            nn.init.uniform_(table.weight, -1e-4, 1e-4)
        offsets = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=torch.long)
        self.register_buffer('offsets', offsets)

    def corner_indices(self, x, level):
        scaled = x * self.resolutions[level]
        lower = torch.floor(scaled).long()
        frac = scaled - lower.float()
        corners = lower[:, None, :] + self.offsets[None]          # (n, 4, 2)
        return spatial_hash(corners, self.table_size, use_mask=level > 0), frac

    def forward(self, x):
        feats = []
        for level, table in enumerate(self.tables):
            idx, frac = self.corner_indices(x, level)
            fx, fy = frac[:, 0:1], frac[:, 1:2]
            w = torch.cat([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], dim=1)
            feats.append((table(idx) * w[..., None]).sum(dim=1))
        return torch.cat(feats, dim=-1)


class NGP(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoding = HashGrid()
        d = len(self.encoding.tables) * self.encoding.tables[0].embedding_dim
        self.mlp = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                 nn.Linear(64, 3))

    def forward(self, x):
        return torch.sigmoid(self.mlp(self.encoding(x)))


coords, colors = make_image()
coords, colors = coords.to(device), colors.to(device)
model = NGP().to(device)
grid = model.encoding
print(f'resolutions {grid.resolutions}, table size {grid.table_size}, '
      f'parameters {sum(p.numel() for p in model.parameters())}')

# the two reductions agree for a power-of-two table, also on negative-free int64 products
with torch.no_grad():
    corner = torch.floor(coords * grid.resolutions[-1]).long()
    by_mod = spatial_hash(corner, grid.table_size, use_mask=False)
    by_mask = spatial_hash(corner, grid.table_size, use_mask=True)
    print(f'hash dtype {by_mod.dtype}, mod == mask: {torch.equal(by_mod, by_mask)}, '
          f'max product {(corner[:, 1] * PRIME).max().item()}')
    for level, res in enumerate(grid.resolutions):
        idx, _ = grid.corner_indices(coords, level)
        cells = torch.unique(idx[:, 0]).numel()
        points = torch.unique(torch.floor(coords * res).long(), dim=0).shape[0]
        print(f'level {level} | resolution {res:2d} | grid cells {points:4d} | '
              f'distinct slots {cells:4d}')

optimizer = torch.optim.Adam([
    {'params': model.encoding.parameters(), 'betas': (0.9, 0.99), 'eps': 1e-15},
    {'params': model.mlp.parameters(), 'weight_decay': 1e-6},
], lr=1e-2)
print(f'groups: {[(g["betas"], g["eps"], g["weight_decay"]) for g in optimizer.param_groups]}')
loader = DataLoader(TensorDataset(coords, colors), batch_size=256, shuffle=True)


def psnr():
    with torch.no_grad():
        mse = F.mse_loss(model(coords), colors)
    return (-10 * torch.log10(mse)).item(), mse.item()


value, mse = psnr()
print(f'untrained | mse {mse:.5f} | psnr {value:.2f} dB')
for epoch in range(1, 9):
    total = 0.0
    for x, y in loader:
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    value, mse = psnr()
    table_norm = torch.stack([t.weight.norm() for t in grid.tables]).max()
    print(f'epoch {epoch} | train mse {total / len(coords):.5f} | image mse {mse:.5f} | '
          f'psnr {value:.2f} dB | largest table norm {table_norm.item():.3f}')
