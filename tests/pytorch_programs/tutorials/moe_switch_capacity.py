"""A Switch Transformer layer (Fedus, Zoph and Shazeer, 2021, "Switch Transformers") with top-1
routing and an expert capacity, inside a small sequence classifier, written for the xpnn
tests on made-up token sequences.

Routing: a linear router's softmax picks one expert per token (``max(dim=-1)``); each
token's position in its expert's queue is ``torch.cumsum`` of the one-hot assignment
(``F.one_hot``) along the tokens, and tokens past the capacity
(``ceil(capacity_factor * tokens / experts)``) are dropped: they pass through on the
residual alone. Kept tokens are gathered per expert by ``index_select`` on
``nonzero`` indices, run through the expert's MLP, scaled by their router probability and
written back by ``scatter`` of an expanded index into a zero tensor. The load-balancing
auxiliary loss is experts * sum(fraction routed * mean router probability), and the router
z-loss is the mean squared ``torch.logsumexp`` of the router logits. Trained with AdamW;
the drop rate, the per-expert load (``bincount``) and the auxiliary losses are printed.

    python tests/pytorch_programs/tutorials/moe_switch_capacity.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(6)
rng = np.random.default_rng(6)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

vocab, seq_len, n_classes = 24, 12, 4


def make_data(count):
    # the class is which of four token groups is most frequent in the sequence
    labels = rng.integers(0, n_classes, size=count)
    tokens = rng.integers(0, vocab, size=(count, seq_len))
    extra = rng.integers(0, 6, size=(count, 5)) + 6 * labels[:, None]
    tokens[:, rng.permutation(seq_len)[:5]] = extra
    return (torch.tensor(tokens, device=device),
            torch.tensor(labels, device=device))


train_x, train_y = make_data(512)
test_x, test_y = make_data(256)


class SwitchFFN(nn.Module):
    def __init__(self, dim, hidden, n_experts, capacity_factor=1.25):
        super().__init__()
        self.n_experts, self.capacity_factor = n_experts, capacity_factor
        self.router = nn.Linear(dim, n_experts, bias=False)
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
            for _ in range(n_experts))

    def forward(self, x):
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])
        n = tokens.shape[0]
        logits = self.router(tokens)
        probs = logits.softmax(dim=-1)
        gate, expert = probs.max(dim=-1)
        onehot = F.one_hot(expert, self.n_experts)
        position = (torch.cumsum(onehot, dim=0) * onehot).sum(dim=-1) - 1
        capacity = math.ceil(self.capacity_factor * n / self.n_experts)
        kept = position < capacity
        out = torch.zeros_like(tokens)
        for e, mlp in enumerate(self.experts):
            idx = ((expert == e) & kept).nonzero().squeeze(1)
            if idx.numel() == 0:
                continue
            y = mlp(tokens.index_select(0, idx)) * gate.index_select(0, idx).unsqueeze(1)
            out = out.scatter(0, idx.unsqueeze(1).expand(-1, shape[-1]), y)
        fraction = onehot.float().mean(dim=0)
        balance = self.n_experts * (fraction * probs.mean(dim=0)).sum()
        z_loss = (torch.logsumexp(logits, dim=-1) ** 2).mean()
        stats = {'dropped': (~kept).float().mean(), 'load': expert[kept].bincount(
            minlength=self.n_experts)}
        return out.reshape(shape), balance, z_loss, stats


class Classifier(nn.Module):
    def __init__(self, dim=32, n_experts=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(seq_len, dim) * 0.02)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.moe = SwitchFFN(dim, 64, n_experts)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x):
        h = self.embed(x) + self.pos
        q = self.norm1(h)
        h = h + self.attn(q, q, q, need_weights=False)[0]
        m, balance, z_loss, stats = self.moe(self.norm2(h))
        h = h + m
        return self.head(h.mean(dim=1)), balance, z_loss, stats


model = Classifier().to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
for epoch in range(1, 9):
    model.train()
    totals = torch.zeros(4, device=device)
    for x, y in loader:
        logits, balance, z_loss, stats = model(x)
        ce = F.cross_entropy(logits, y)
        loss = ce + 0.01 * balance + 1e-3 * z_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals += torch.stack([ce.detach(), balance.detach(), z_loss.detach(),
                               stats['dropped']])
    totals /= len(loader)
    model.eval()
    with torch.no_grad():
        logits, _, _, stats = model(test_x)
        acc = (logits.argmax(dim=1) == test_y).float().mean().item()
    print(f'epoch {epoch} | ce {totals[0].item():.4f} | balance {totals[1].item():.4f} '
          f'| z-loss {totals[2].item():.4f} | dropped {totals[3].item():.3f} '
          f'| test acc {acc:.3f} | test load {stats["load"].tolist()}')
