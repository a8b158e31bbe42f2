"""Incremental decoding with a key/value cache, written for the xpnn tests: a tiny
decoder-only transformer with rotary position embeddings, trained on made-up periodic
token sequences, then decoded token by token.

* rotary embeddings: angles by ``torch.outer``, unit rotations by ``torch.polar``, queries
  and keys rotated as complex numbers through ``torch.view_as_complex`` /
  ``torch.view_as_real``;
* attention by ``F.scaled_dot_product_attention``: ``is_causal=True`` for the full
  sequence, a boolean ``attn_mask`` (True = attend) for a padded prompt batch;
* under ``torch.inference_mode()``: a cache of keys and values written in place into
  preallocated tensors, one new token per step, checked equal to recomputing the whole
  sequence; greedy decoding, then top-p (nucleus) sampling by ``sort(descending=True)``,
  ``cumsum``, ``scatter`` back to vocabulary order and ``multinomial`` on a seeded
  ``torch.Generator``.

    python tests/pytorch_programs/tutorials/kv_cache_decoding.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)

V, D, H, L, T = 12, 32, 4, 2, 24
HD = D // H


def rope_table(length, dim, base=10000.0):
    inv = 1.0 / base ** (torch.arange(0, dim, 2).float() / dim)
    angles = torch.outer(torch.arange(length).float(), inv)
    return torch.polar(torch.ones_like(angles), angles)          # (length, dim / 2) cfloat


def apply_rope(x, table):
    # x: (B, H, S, HD); table: (S, HD / 2)
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * table).flatten(-2).type_as(x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv = nn.Linear(D, 3 * D, bias=False)
        self.proj = nn.Linear(D, D, bias=False)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))

    def forward(self, x, table, cache=None, pos=0, mask=None):
        B, S, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        q, k, v = (z.view(B, S, H, HD).transpose(1, 2) for z in (q, k, v))
        q, k = apply_rope(q, table[pos:pos + S]), apply_rope(k, table[pos:pos + S])
        if cache is not None:
            cache['k'][:, :, pos:pos + S] = k
            cache['v'][:, :, pos:pos + S] = v
            k, v = cache['k'][:, :, :pos + S], cache['v'][:, :, :pos + S]
        if mask is not None:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        elif cache is not None and S == 1:
            a = F.scaled_dot_product_attention(q, k, v)
        else:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(B, S, D))
        return x + self.mlp(self.ln2(x))


class TinyDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, V, bias=False)
        self.register_buffer('rope', rope_table(64, HD), persistent=False)

    def forward(self, idx, caches=None, pos=0, mask=None):
        x = self.emb(idx)
        for i, block in enumerate(self.blocks):
            x = block(x, self.rope, None if caches is None else caches[i], pos, mask)
        return self.head(self.ln(x))


def make_batch(n):
    periods = rng.integers(2, 5, n)
    starts = rng.integers(0, V, n)
    steps = rng.integers(1, 4, n)
    seq = [(s + st * (np.arange(T + 1) % p)) % V for p, s, st in zip(periods, starts, steps)]
    return torch.from_numpy(np.stack(seq))


model = TinyDecoder()
print(f'rope table {tuple(model.rope.shape)} {model.rope.dtype} | buffers in state_dict '
      f'{"rope" in model.state_dict()}')
opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
for epoch in range(5):
    total = 0.0
    for _ in range(10):
        data = make_batch(16)
        logits = model(data[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), data[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    print(f'epoch {epoch} | train loss {total / 10:.4f}')

model.eval()
prompts = make_batch(3)[:, :6]
with torch.inference_mode():
    # full recomputation against the cache, step by step
    caches = [{'k': torch.zeros(3, H, 32, HD), 'v': torch.zeros(3, H, 32, HD)}
              for _ in range(L)]
    logits = model(prompts, caches, 0)
    seq = prompts
    agree = True
    for step in range(10):
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        pos = seq.shape[1]
        seq = torch.cat([seq, nxt], dim=1)
        logits = model(nxt, caches, pos)
        full = model(seq)[:, -1:]
        agree = agree and torch.allclose(logits, full, atol=1e-5)
    print(f'greedy {seq[:, 6:].tolist()} | cache equals full recomputation {agree}')
    print(f'inference tensors {seq.is_inference()} | cache filled to {pos + 1}')

    # a boolean attn_mask: left-padded prompts attend to real tokens causally
    lengths = torch.tensor([6, 4, 5])
    pad = torch.arange(6)[None, :] >= (6 - lengths)[:, None]           # True = real token
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    mask = (causal[None] & pad[:, None, :])[:, None]                  # (B, 1, S, S)
    mask = mask | torch.eye(6, dtype=torch.bool)                      # pads see themselves
    masked = model(prompts, mask=mask)
    same_row = torch.allclose(masked[0], model(prompts[:1])[0], atol=1e-5)
    print(f'boolean mask {tuple(mask.shape)} {mask.dtype} | unpadded row equals causal '
          f'{same_row} | last logits argmax {masked[:, -1].argmax(-1).tolist()}')

    # nucleus sampling
    g = torch.Generator().manual_seed(5)

    def top_p_filter(logits, p=0.9, temperature=0.8):
        probs = torch.softmax(logits / temperature, dim=-1)
        sorted_p, order = torch.sort(probs, dim=-1, descending=True)
        cum = sorted_p.cumsum(dim=-1)
        drop_sorted = cum - sorted_p > p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        return probs.masked_fill(drop, 0.0), drop.sum(-1)

    probs, dropped = top_p_filter(model(prompts)[:, -1])
    print(f'top-p kept per row {(V - dropped).tolist()} | renormalised sums '
          f'{[round(v, 4) for v in (probs / probs.sum(-1, keepdim=True)).sum(-1).tolist()]}')
    samples = torch.multinomial(probs, 4, replacement=True, generator=g)
    print(f'sampled shape {tuple(samples.shape)} | all kept tokens '
          f'{bool(probs.gather(1, samples).gt(0).all())}')
