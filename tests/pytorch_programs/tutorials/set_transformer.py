"""A Set Transformer (Lee et al. 2019) beside Deep Sets pooling, written small for the xpnn
tests, predicting the largest value in a set: 448 made-up sets of 3 to 10 elements (a value
and a flag per element), padded to 10 with a boolean padding mask.

Each element is embedded by a Linear; a set attention block (``nn.MultiheadAttention`` with
``batch_first=True`` and ``key_padding_mask``, residual, LayerNorm, feed-forward) mixes the
elements; pooling by multihead attention (PMA) lets a learned seed vector
(``nn.Parameter``, ``expand``-ed over the batch) attend to the set, and a Deep Sets masked
mean (``masked_fill`` + sum / count) is concatenated to it before the regression head. The
loss is MSE under Adam with a StepLR; at the end the test error is printed, with a
permutation-invariance check (the set dimension shuffled by ``torch.randperm``, padding
mask along) and a look at the attention the seed pays to padded elements (none).

    python tests/pytorch_programs/tutorials/set_transformer.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

random.seed(4)
torch.manual_seed(4)
device = 'cuda' if torch.cuda.is_available() else 'cpu'
MAX_SET = 10


def make_sets(n):
    values = torch.randn(n, MAX_SET)
    flags = torch.zeros(n, MAX_SET)
    padding = torch.ones(n, MAX_SET, dtype=torch.bool)
    for i in range(n):
        size = random.randint(3, MAX_SET)
        padding[i, :size] = False
        for j in range(size):
            flags[i, j] = float(random.random() < 0.5)
    values = values.masked_fill(padding, 0.0)
    x = torch.stack([values, flags], dim=-1)
    y = values.masked_fill(padding, float('-inf')).max(dim=1).values
    return x, padding, y


class SAB(nn.Module):
    """Set attention block: self-attention among the elements, then a feed-forward."""

    def __init__(self, dim, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x, padding):
        h, _ = self.attn(x, x, x, key_padding_mask=padding, need_weights=False)
        x = self.norm1(x + h)
        return self.norm2(x + self.ff(x))


class PMA(nn.Module):
    """Pooling by multihead attention: a learned seed attends to the set."""

    def __init__(self, dim, heads):
        super().__init__()
        self.seed = nn.Parameter(torch.randn(1, 1, dim) * 0.1)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x, padding):
        query = self.seed.expand(x.size(0), -1, -1)
        out, weights = self.attn(query, x, x, key_padding_mask=padding)
        return out.squeeze(1), weights


class SetTransformer(nn.Module):
    def __init__(self, in_dim=2, dim=32, heads=4):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.sab = SAB(dim, heads)
        self.pma = PMA(dim, heads)
        self.head = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def forward(self, x, padding):
        h = self.sab(self.embed(x), padding)
        pooled, weights = self.pma(h, padding)
        keep = (~padding).unsqueeze(-1).float()
        mean = h.masked_fill(padding.unsqueeze(-1), 0.0).sum(dim=1) / keep.sum(dim=1)
        return self.head(torch.cat([pooled, mean], dim=-1)).squeeze(-1), weights


train_x, train_pad, train_y = make_sets(384)
test_x, test_pad, test_y = make_sets(64)
loader = DataLoader(TensorDataset(train_x, train_pad, train_y), batch_size=32, shuffle=True)

model = SetTransformer().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

for epoch in range(1, 7):
    model.train()
    total = 0.0
    for x, pad, y in loader:
        x, pad, y = x.to(device), pad.to(device), y.to(device)
        pred, _ = model(x, pad)
        loss = F.mse_loss(pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    scheduler.step()
    model.eval()
    with torch.no_grad():
        pred, _ = model(test_x, test_pad)
        test_mse = F.mse_loss(pred, test_y).item()
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | train mse '
          f'{total / len(train_x):.4f} | test mse {test_mse:.4f}')

with torch.no_grad():
    pred, weights = model(test_x, test_pad)
    mae = (pred - test_y).abs().mean().item()
    perm = torch.randperm(MAX_SET)
    pred_perm, _ = model(test_x[:, perm], test_pad[:, perm])
print(f'test mean absolute error {mae:.4f} (predicting the mean: '
      f'{(test_y - train_y.mean()).abs().mean().item():.4f})')
print(f'permutation invariant: {torch.allclose(pred, pred_perm, atol=1e-5)} '
      f'(max difference below 1e-5: {bool((pred - pred_perm).abs().max() < 1e-5)})')
print(f'seed attention on padding: {weights.masked_select(test_pad.unsqueeze(1)).sum():.1f}, '
      f'weights {tuple(weights.shape)}')
