"""A T5-style encoder with bucketed relative position biases (Raffel et al., 2020, "Exploring
the Limits of Transfer Learning with a Unified Text-to-Text Transformer"; Shaw et al., 2018),
written for the xpnn tests on a made-up copy-with-offset task.

The task needs relative positions and nothing else: every output position must name the
token two places to its left (the first two positions are ``ignore_index``, as is
padding), on sequences of 8 to 16 made-up tokens padded to 16. The encoder has no absolute
position embeddings: each layer's self-attention adds a bias looked up from an
``nn.Embedding(num_buckets, heads)`` by T5's bucketing of relative positions (exact buckets
near zero, logarithmic ones beyond: ``torch.abs``, ``torch.log`` of the ratio,
``torch.min`` against ``torch.full_like``, ``torch.where``, ``.long()``), permuted to (1,
heads, q, k) and passed with the padding mask as a float ``attn_mask`` to
``F.scaled_dot_product_attention`` (T5 leaves the scores unscaled: ``scale=1.0``); a check
against the scores written out by hand is printed once. T5's layer norm is an RMS norm
without bias or mean subtraction, written by hand, pre-norm with residuals and a ReLU
feed-forward without biases. Output logits come from the tied input embedding after scaling
the hidden states by d_model ** -0.5. Label-smoothed cross-entropy with ignore_index;
``torch.optim.Adafactor``; the loss and the token accuracy are printed
per epoch.

    python tests/pytorch_programs/tutorials/t5_relative_bias.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(23)
rng = np.random.default_rng(23)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

PAD, VOCAB, LENGTH, OFFSET, IGNORE = 0, 24, 16, 2, -100


def make_data(count):
    tokens = np.zeros((count, LENGTH), dtype=np.int64)
    targets = np.full((count, LENGTH), IGNORE, dtype=np.int64)
    for i in range(count):
        n = rng.integers(8, LENGTH + 1)
        tokens[i, :n] = rng.integers(1, VOCAB, n)
        targets[i, OFFSET:n] = tokens[i, :n - OFFSET]
    return torch.tensor(tokens), torch.tensor(targets)


def relative_position_bucket(relative, num_buckets=16, max_distance=32):
    """T5's bidirectional buckets: half per direction, exact up to num_buckets // 4, then
    logarithmically spaced out to max_distance."""
    num_buckets //= 2
    buckets = (relative > 0).long() * num_buckets
    distance = torch.abs(relative)
    max_exact = num_buckets // 2
    is_small = distance < max_exact
    log_ratio = torch.log(distance.float() / max_exact) / math.log(max_distance / max_exact)
    far = max_exact + (log_ratio * (num_buckets - max_exact)).long()
    far = torch.min(far, torch.full_like(far, num_buckets - 1))
    return buckets + torch.where(is_small, distance, far)


class T5LayerNorm(nn.Module):
    """RMS layer norm: no mean subtraction, no bias."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class RelativeBias(nn.Module):
    def __init__(self, heads, num_buckets=16):
        super().__init__()
        self.embed = nn.Embedding(num_buckets, heads)

    def forward(self, q_len, k_len):
        context = torch.arange(q_len, device=self.embed.weight.device)[:, None]
        memory = torch.arange(k_len, device=self.embed.weight.device)[None, :]
        buckets = relative_position_bucket(memory - context)
        return self.embed(buckets).permute(2, 0, 1).unsqueeze(0)      # (1, heads, q, k)


class Block(nn.Module):
    def __init__(self, d_model, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = T5LayerNorm(d_model), T5LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.bias = RelativeBias(heads)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff, bias=False), nn.ReLU(),
                                nn.Linear(d_ff, d_model, bias=False))

    def attention(self, x, pad_mask):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = self.bias(n, n) + pad_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
        return self.proj(out.transpose(1, 2).reshape(b, n, d)), (q, k, v, mask, out)

    def forward(self, x, pad_mask):
        x = x + self.attention(self.norm1(x), pad_mask)[0]
        return x + self.ff(self.norm2(x))


class T5Encoder(nn.Module):
    def __init__(self, d_model=64, heads=4, d_ff=128, layers=2):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(VOCAB, d_model)
        nn.init.normal_(self.embed.weight, std=1.0)
        self.blocks = nn.ModuleList(Block(d_model, heads, d_ff) for _ in range(layers))
        self.final_norm = T5LayerNorm(d_model)

    def forward(self, tokens):
        pad_mask = torch.zeros(tokens.shape, device=tokens.device)
        pad_mask = pad_mask.masked_fill(tokens == PAD, float('-inf'))
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, pad_mask)
        x = self.final_norm(x) * self.d_model ** -0.5
        return x @ self.embed.weight.T


def token_accuracy(logits, targets):
    real = targets != IGNORE
    return ((logits.argmax(-1) == targets) & real).sum().item() / real.sum().item()


rel = torch.arange(-20, 21)
print(f'buckets {relative_position_bucket(rel).tolist()}')
train = make_data(512)
test_x, test_y = (v.to(device) for v in make_data(128))
model = T5Encoder().to(device)

with torch.no_grad():
    logits = model(test_x)
    test_loss = F.cross_entropy(logits.reshape(-1, VOCAB), test_y.reshape(-1),
                                ignore_index=IGNORE)
    print(f'untrained | test loss {test_loss.item():.4f} | token accuracy '
          f'{token_accuracy(logits, test_y):.3f}')
    block = model.blocks[0]
    x = block.norm1(model.embed(test_x[:4]))
    pad = torch.zeros(test_x[:4].shape).masked_fill(test_x[:4] == PAD, float('-inf'))
    _, (q, k, v, mask, out) = block.attention(x, pad)
    by_hand = torch.softmax(q @ k.transpose(-2, -1) + mask, dim=-1) @ v
    print(f'sdpa matches the scores by hand: {torch.allclose(out, by_hand, atol=1e-5)}')

optimizer = torch.optim.Adafactor(model.parameters(), lr=1e-2)
loader = DataLoader(TensorDataset(*train), batch_size=32, shuffle=True)
for epoch in range(1, 9):
    total = 0.0
    for tokens, targets in loader:
        logits = model(tokens.to(device))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.to(device).reshape(-1),
                               ignore_index=IGNORE, label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        logits = model(test_x)
        test_loss = F.cross_entropy(logits.reshape(-1, VOCAB), test_y.reshape(-1),
                                    ignore_index=IGNORE, label_smoothing=0.1).item()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss '
          f'{test_loss:.4f} | token accuracy {token_accuracy(logits, test_y):.3f}')
