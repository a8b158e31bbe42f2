"""Associative recall by a modern Hopfield network (Ramsauer et al., 2021, "Hopfield
Networks is All You Need"), written for the xpnn tests on made-up binary patterns.

Sixteen random +-1 patterns of 64 bits are to be recalled from corrupted copies (a fifth of
their bits flipped, drawn with NumPy afresh for every batch). The network's memory is a
learned (64, 16) matrix X of stored patterns, started small; the update rule of the modern
(continuous) Hopfield network, xi <- X softmax(beta X^T xi), is written with
``torch.einsum`` and iterated three times, with the inverse temperature beta learned through
``F.softplus`` of a free parameter. The loss is the MSE to the clean pattern plus one minus
their cosine similarity. Adam; the loss, the bit accuracy of sign(xi) and beta are printed
per epoch, beside the classical Hopfield network's recall (Hebbian weights, sign updates)
of the same corrupted patterns.

    python tests/pytorch_programs/tutorials/hopfield_modern_retrieval.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(13)
rng = np.random.default_rng(13)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

DIM, N_PATTERNS, FLIP = 64, 16, 0.2
patterns = torch.tensor(rng.choice([-1.0, 1.0], size=(N_PATTERNS, DIM)), dtype=torch.float32)


def corrupt(count):
    """count corrupted copies of random patterns and their clean targets."""
    which = rng.integers(0, N_PATTERNS, count)
    flips = np.where(rng.random((count, DIM)) < FLIP, -1.0, 1.0)
    clean = patterns[torch.tensor(which)]
    return clean * torch.tensor(flips, dtype=torch.float32), clean


class ModernHopfield(nn.Module):
    def __init__(self, steps=3):
        super().__init__()
        self.steps = steps
        self.memory = nn.Parameter(torch.randn(DIM, N_PATTERNS))
        self.raw_beta = nn.Parameter(torch.tensor(-3.0))

    @property
    def beta(self):
        return F.softplus(self.raw_beta)

    def forward(self, xi):
        for _ in range(self.steps):
            scores = torch.einsum('dm,bd->bm', self.memory, xi)
            attention = torch.softmax(self.beta * scores, dim=-1)
            xi = torch.einsum('dm,bm->bd', self.memory, attention)
        return xi


def classical_recall(noisy, steps=5):
    weights = patterns.T @ patterns / DIM
    weights.fill_diagonal_(0.0)
    state = noisy.clone()
    for _ in range(steps):
        state = torch.sign(state @ weights)
        state[state == 0] = 1.0
    return state


test_noisy, test_clean = corrupt(256)
classical = (classical_recall(test_noisy) == test_clean).float().mean().item()
print(f'corrupted bits {(test_noisy != test_clean).float().mean().item():.4f} | classical '
      f'hopfield bit accuracy {classical:.4f}')

model = ModernHopfield().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for epoch in range(1, 9):
    total = 0.0
    for _ in range(10):
        noisy, clean = corrupt(32)
        out = model(noisy.to(device))
        clean = clean.to(device)
        loss = F.mse_loss(out, clean) + (1 - F.cosine_similarity(out, clean, dim=-1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        out = model(test_noisy.to(device))
        test_loss = F.mse_loss(out, test_clean.to(device)) + \
            (1 - F.cosine_similarity(out, test_clean.to(device), dim=-1)).mean()
        bits = (torch.sign(out) == test_clean.to(device)).float().mean().item()
    print(f'epoch {epoch} | train loss {total / 10:.4f} | test loss {test_loss.item():.4f} | '
          f'bit accuracy {bits:.4f} | beta {model.beta.item():.4f}')

with torch.no_grad():
    match = F.cosine_similarity(model.memory.T.unsqueeze(1), patterns.to(device).unsqueeze(0),
                                dim=-1)
print(f'best match of each stored pattern: {match.max(dim=0).values.mean().item():.4f}')
