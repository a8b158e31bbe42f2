"""Activation checkpointing in a small Transformer language model, after PyTorch's
``torch.utils.checkpoint`` documentation, written for the xpnn tests on a made-up language:
sequences that count upward modulo the vocabulary from a random start, with a random stride
per sequence (the model must infer the stride from the context).

Each pre-LN block (hand-written causal attention on ``masked_fill`` of a ``torch.triu``
mask, a GELU MLP) runs under ``torch.utils.checkpoint.checkpoint(block, x,
use_reentrant=False)`` when the model's ``mode`` is "checkpoint", as one
``torch.utils.checkpoint.checkpoint_sequential(blocks, 2, x, use_reentrant=False)`` when it
is "sequential", and plainly otherwise. Once, before training, the three modes are checked
to give the same loss and the same gradients (``torch.allclose`` on every parameter's
``.grad``). Training: gradient accumulation over 4 micro-batches (each loss divided by 4),
``torch.nn.utils.clip_grad_norm_`` on the accumulated gradients, ``AdamW(fused=None)``,
``optimizer.zero_grad(set_to_none=True)``. No dropout: the recomputation would redraw it.

    python tests/pytorch_programs/tutorials/gradient_checkpoint_transformer.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

VOCAB, LENGTH = 16, 12


def make_batch(count):
    start = rng.integers(0, VOCAB, (count, 1))
    stride = rng.integers(1, 4, (count, 1))
    seq = (start + stride * np.arange(LENGTH + 1)) % VOCAB
    seq = torch.from_numpy(seq)
    return seq[:, :-1], seq[:, 1:]


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def attention(self, x):
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)
        q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // self.heads)
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
        scores = scores.masked_fill(causal, float('-inf'))
        out = F.softmax(scores, dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(B, T, D))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    def __init__(self, d=32, heads=4, n_layers=4):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.zeros(1, LENGTH, d))
        self.blocks = nn.Sequential(*[Block(d, heads) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, VOCAB)
        self.mode = 'plain'

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos[:, :tokens.shape[1]]
        if self.mode == 'checkpoint':
            for block in self.blocks:
                x = checkpoint(block, x, use_reentrant=False)
        elif self.mode == 'sequential':
            x = checkpoint_sequential(self.blocks, 2, x, use_reentrant=False)
        else:
            x = self.blocks(x)
        return self.head(self.ln_f(x))


model = TinyLM().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01, fused=None)

# the three modes give the same loss and gradients
check_x, check_y = make_batch(16)
grads, losses = {}, {}
for mode in ('plain', 'checkpoint', 'sequential'):
    model.mode = mode
    optimizer.zero_grad(set_to_none=True)
    loss = criterion(model(check_x).reshape(-1, VOCAB), check_y.reshape(-1))
    loss.backward()
    losses[mode] = loss.item()
    grads[mode] = [p.grad.clone() for p in model.parameters()]
optimizer.zero_grad(set_to_none=True)
for mode in ('checkpoint', 'sequential'):
    same = all(torch.allclose(a, b, rtol=1e-5, atol=1e-7)
               for a, b in zip(grads['plain'], grads[mode]))
    print(f'{mode}: loss {losses[mode]:.6f} (plain {losses["plain"]:.6f}), '
          f'gradients allclose {same}')

test_x, test_y = make_batch(128)
model.mode = 'checkpoint'
accum, micro = 4, 8
for epoch in range(1, 7):
    total, norms = 0.0, []
    for step in range(8):
        optimizer.zero_grad(set_to_none=True)
        for _ in range(accum):
            x, y = make_batch(micro)
            loss = criterion(model(x.to(device)).reshape(-1, VOCAB), y.to(device).reshape(-1))
            (loss / accum).backward()
            total += loss.item() / accum
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item())
        optimizer.step()
    model.mode = 'sequential' if epoch % 2 else 'checkpoint'
    with torch.no_grad():
        logits = model(test_x.to(device))
        test_loss = criterion(logits.reshape(-1, VOCAB), test_y.to(device).reshape(-1)).item()
        acc = (logits[:, 4:].argmax(-1) == test_y[:, 4:].to(device)).float().mean().item()
    print(f'epoch {epoch} | train loss {total / 8:.4f} | test loss {test_loss:.4f} | '
          f'accuracy after 4 tokens {acc:.3f} | max grad norm {max(norms):.3f}')
