"""Speculative sampling (Leviathan et al., 2023, "Fast Inference from Transformers via
Speculative Decoding"; Chen et al., 2023), written for the xpnn tests after the papers'
algorithm, with two tiny GPT-style models on a made-up Markov-chain language.

A target model (two causal self-attention blocks on ``F.scaled_dot_product_attention(
is_causal=True)``) and a smaller draft model (one block) are trained briefly by AdamW on
sequences drawn from a fixed random transition matrix. Then, under ``torch.no_grad``, the
draft proposes ``k`` tokens one at a time by ``torch.multinomial(q, 1, generator=g)``; the
target scores the prefix and all proposals in one forward pass; each proposal is accepted
when ``torch.rand(1, generator=g) < torch.clamp(p / q, max=1)``, and at the first rejection a
replacement is drawn from the residual ``torch.clamp(p - q, min=0)`` renormalised (after k
acceptances, one bonus token from the target). Speculative decoding must leave the target's
distribution unchanged: over many runs on a seeded ``torch.Generator``, the histograms of the
first and second generated tokens (``torch.bincount``) are compared with plain target
sampling and with the exact marginals, by total variation distance. The acceptance rate
and the number of target calls per generated token are printed.

    python tests/pytorch_programs/tutorials/speculative_decoding.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

VOCAB, SEQ = 8, 16
# a transition matrix with a few likely successors per token
logits = rng.standard_normal((VOCAB, VOCAB)) * 1.5
TRANSITIONS = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def make_sequences(count):
    seqs = np.empty((count, SEQ), dtype=np.int64)
    seqs[:, 0] = rng.integers(0, VOCAB, count)
    for t in range(1, SEQ):
        for i in range(count):
            seqs[i, t] = rng.choice(VOCAB, p=TRANSITIONS[seqs[i, t - 1]])
    return torch.from_numpy(seqs)


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self, dim, layers, heads=2):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, dim)
        self.pos = nn.Embedding(SEQ, dim)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, VOCAB, bias=False)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.tok(idx) + self.pos(pos)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def train(model, data, steps, name):
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    for step in range(steps):
        batch = data[(step * 32) % len(data):][:32].to(device)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 20 == 0 or step == steps - 1:
            print(f'{name} step {step:3d} | loss {loss.item():.4f}')
    return model


@torch.no_grad()
def next_probs(model, seq, temperature=1.0):
    return F.softmax(model(seq.unsqueeze(0))[0, -1] / temperature, dim=-1)


@torch.no_grad()
def speculative_generate(target, draft, prefix, new_tokens, k, g):
    """``new_tokens`` tokens after ``prefix`` by speculative sampling; also the number of
    proposals accepted, proposed, and target calls made."""
    seq = prefix.clone()
    accepted = proposed = calls = 0
    while len(seq) < len(prefix) + new_tokens:
        k_now = min(k, len(prefix) + new_tokens - len(seq))
        drafted, qs = seq, []
        for _ in range(k_now):
            q = next_probs(draft, drafted)
            token = torch.multinomial(q, 1, generator=g)
            qs.append(q)
            drafted = torch.cat([drafted, token])
        # one pass of the target over the prefix and every proposal
        p_all = F.softmax(target(drafted.unsqueeze(0))[0, len(seq) - 1:], dim=-1)
        calls += 1
        n_ok = 0
        for i in range(k_now):
            x = drafted[len(seq) + i]
            p, q = p_all[i], qs[i]
            proposed += 1
            if torch.rand(1, generator=g) < torch.clamp(p[x] / q[x], max=1):
                n_ok += 1
                continue
            residual = torch.clamp(p - q, min=0)
            residual = residual / residual.sum()
            replacement = torch.multinomial(residual, 1, generator=g)
            seq = torch.cat([drafted[:len(seq) + i], replacement])
            break
        else:
            bonus = torch.multinomial(p_all[k_now], 1, generator=g)
            seq = torch.cat([drafted, bonus])
        accepted += n_ok
    return seq[len(prefix):len(prefix) + new_tokens], accepted, proposed, calls


@torch.no_grad()
def plain_generate(target, prefix, new_tokens, g):
    seq = prefix.clone()
    for _ in range(new_tokens):
        seq = torch.cat([seq, torch.multinomial(next_probs(target, seq), 1, generator=g)])
    return seq[len(prefix):]


def tv(counts, probs):
    return 0.5 * (counts.float() / counts.sum() - probs).abs().sum().item()


data = make_sequences(512)
target = train(TinyGPT(32, 2).to(device), data, 100, 'target')
draft = train(TinyGPT(16, 1).to(device), data, 40, 'draft')
target.eval()
draft.eval()

test = make_sequences(64).to(device)
with torch.no_grad():
    for name, model in (('target', target), ('draft', draft)):
        nll = F.cross_entropy(model(test[:, :-1]).reshape(-1, VOCAB), test[:, 1:].reshape(-1))
        print(f'{name} test nll {nll.item():.4f} (chain entropy '
              f'{-(TRANSITIONS * np.log(TRANSITIONS)).sum(1).mean():.4f})')

prefix = torch.tensor([3, 1, 4], device=device)
p1 = next_probs(target, prefix)
# the exact marginal of the second token: sum over the first
p2 = sum(p1[a] * next_probs(target, torch.cat([prefix, torch.tensor([a], device=device)]))
         for a in range(VOCAB))
print(f'target p(first)  {[round(v, 3) for v in p1.tolist()]}')

g = torch.Generator(device=device).manual_seed(1234)
runs, k = 300, 3
spec_first, spec_second = [], []
accepted = proposed = calls = 0
for _ in range(runs):
    out, a, p, c = speculative_generate(target, draft, prefix, 4, k, g)
    spec_first.append(out[0])
    spec_second.append(out[1])
    accepted, proposed, calls = accepted + a, proposed + p, calls + c
plain = torch.stack([plain_generate(target, prefix, 2, g) for _ in range(runs)])

spec_h1 = torch.bincount(torch.stack(spec_first), minlength=VOCAB)
spec_h2 = torch.bincount(torch.stack(spec_second), minlength=VOCAB)
plain_h1 = torch.bincount(plain[:, 0], minlength=VOCAB)
plain_h2 = torch.bincount(plain[:, 1], minlength=VOCAB)
print(f'acceptance rate {accepted / proposed:.3f} | target calls per token '
      f'{calls / (4 * runs):.3f}')
print(f'first token  tv(speculative, exact) {tv(spec_h1, p1):.4f} | tv(plain, exact) '
      f'{tv(plain_h1, p1):.4f}')
print(f'second token tv(speculative, exact) {tv(spec_h2, p2):.4f} | tv(plain, exact) '
      f'{tv(plain_h2, p2):.4f}')
noise = math.sqrt(VOCAB / runs)   # the scale of a sampled histogram's tv
print('speculative within sampling noise:',
      tv(spec_h1, p1) < noise and tv(spec_h2, p2) < noise)
