"""Decoding strategies for a GPT-style language model, written for the xpnn tests after the
usual sampling recipes (temperature, top-k, nucleus sampling, a repetition penalty), on a
made-up character language drawn from a sparse Markov chain.

The model: token embeddings plus learned positional embeddings (two ``nn.Embedding``),
pre-LN blocks of ``nn.MultiheadAttention(batch_first=True)`` under a causal ``attn_mask``
from ``torch.triu(torch.full((T, T), float("-inf")), 1)`` and a GELU MLP, a final
LayerNorm and an output layer whose weight is tied to the token embeddings. It is trained
briefly by AdamW on next-character cross-entropy.

Generation runs under ``torch.inference_mode()`` (checked by ``Tensor.is_inference()``):
logits / temperature; a repetition penalty (the logits of the tokens already in the context
by ``torch.gather``, divided or multiplied by the penalty by their sign with
``torch.where``, written back by ``scatter_``); top-k (``torch.topk``, everything below the
k-th value set to -inf); nucleus top-p (``torch.sort(descending=True)``, ``torch.cumsum``
of the softmax, the mask shifted right by one and sent back to vocabulary order by
``scatter``); then ``torch.multinomial`` from a seeded ``torch.Generator``. Greedy decoding
(argmax) is checked against the chain's most likely path, and two generators seeded alike
must give the same sample.

    python tests/pytorch_programs/tutorials/gpt_sampling.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

chars = list('abcdefghij .')
V, block = len(chars), 16
# a sparse Markov chain: each character goes to one of 3 successors, one of them likely
transition = np.zeros((V, V))
for i in range(V):
    nxt = rng.choice(V, size=3, replace=False)
    transition[i, nxt] = [0.7, 0.2, 0.1]
stream = [0]
for _ in range(6000):
    stream.append(rng.choice(V, p=transition[stream[-1]]))
data = torch.tensor(stream, dtype=torch.long)
split = 5000
print(f'{len(data)} characters, vocabulary {V}, chain entropy '
      f'{-(transition[transition > 0] * np.log(transition[transition > 0])).sum() / V:.4f}')


def batches(part, count, batch_size=16):
    starts = rng.integers(0, len(part) - block - 1, size=(count, batch_size))
    for row in starts:
        x = torch.stack([part[s:s + block] for s in row])
        y = torch.stack([part[s + 1:s + block + 1] for s in row])
        yield x.to(device), y.to(device)


class Block(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d),
                                 nn.Dropout(dropout))

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab, d=32, heads=4, layers=2, dropout=0.1):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d, heads, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight          # tied output weights
        self.register_buffer('mask', torch.triu(torch.full((block, block), float('-inf')), 1))
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        T = idx.size(1)
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.tok(idx) + self.pos(pos))
        for blk in self.blocks:
            x = blk(x, self.mask[:T, :T])
        return self.head(self.ln_f(x))


model = GPT(V).to(device)
print(f'tied: {model.head.weight is model.tok.weight}, parameters '
      f'{sum(p.numel() for p in model.parameters())}, mask row 2 {model.mask[2, :4].tolist()}')
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)


def evaluate():
    model.eval()
    with torch.no_grad():
        losses = [F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1)).item()
                  for x, y in batches(data[split:], 4)]
    return sum(losses) / len(losses)


print(f'untrained | valid loss {evaluate():.4f} (uniform {math.log(V):.4f})')
for epoch in range(1, 5):
    model.train()
    total = 0.0
    for x, y in batches(data[:split], 20):
        loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    print(f'epoch {epoch} | train loss {total / 20:.4f} | valid loss {evaluate():.4f}')


def filter_logits(logits, context, temperature=1.0, top_k=None, top_p=None, penalty=1.0):
    if penalty != 1.0:
        seen = torch.gather(logits, 1, context)
        seen = torch.where(seen > 0, seen / penalty, seen * penalty)
        logits.scatter_(1, context, seen)
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
        logits = logits.masked_fill(logits < kth, float('-inf'))
    if top_p is not None:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        remove = cumulative > top_p
        remove[..., 1:] = remove[..., :-1].clone()    # keep the token that crosses top_p
        remove[..., 0] = False
        logits = logits.masked_fill(remove.scatter(1, order, remove), float('-inf'))
    return logits


@torch.inference_mode()
def generate(prompt, steps, generator=None, greedy=False, **options):
    model.eval()
    idx = prompt.clone()
    for _ in range(steps):
        logits = model(idx[:, -block:])[:, -1, :]
        logits = filter_logits(logits, idx[:, -block:], **options)
        if greedy:
            nxt = logits.argmax(-1, keepdim=True)
        else:
            nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
        idx = torch.cat([idx, nxt], dim=1)
    return idx


def decode(row):
    return ''.join(chars[i] for i in row.tolist())


prompt = data[split:split + 4].view(1, -1).to(device)
with torch.inference_mode():
    logits = model(prompt)[:, -1, :]
    print(f'inference tensors: {logits.is_inference()}, requires_grad {logits.requires_grad}')
    kept_k = torch.isfinite(filter_logits(logits.clone(), prompt, top_k=3)).sum().item()
    kept_p = torch.isfinite(filter_logits(logits.clone(), prompt, top_p=0.9)).sum().item()
    probs = F.softmax(logits, -1)
    penalised = F.softmax(filter_logits(logits.clone(), prompt, penalty=1.5), -1)
    seen_mass = probs[0, prompt[0].unique()].sum().item()
    seen_mass_penalised = penalised[0, prompt[0].unique()].sum().item()
print(f'top-k keeps {kept_k}, top-p 0.9 keeps {kept_p} of {V}')
print(f'probability of the prompt\'s characters {seen_mass:.4f}, with penalty 1.5 '
      f'{seen_mass_penalised:.4f}')

greedy = generate(prompt, 24, greedy=True)[0, 4:]
chain_path = [prompt[0, -1].item()]
for _ in range(24):
    chain_path.append(int(transition[chain_path[-1]].argmax()))
agree = (greedy.cpu() == torch.tensor(chain_path[1:])).float().mean().item()
print(f'greedy: {decode(greedy)!r}, agrees with the chain\'s likeliest path {agree:.3f}')

# sampling: a seeded generator reproduces its sample
first = generate(prompt, 24, torch.Generator(device=device).manual_seed(11), temperature=0.8,
                 top_k=5, top_p=0.95, penalty=1.2)
again = generate(prompt, 24, torch.Generator(device=device).manual_seed(11), temperature=0.8,
                 top_k=5, top_p=0.95, penalty=1.2)
print(f'same seed, same sample: {torch.equal(first, again)}')
print(f'sample: {decode(first[0])!r}')
generator = torch.Generator(device=device).manual_seed(5)
for temperature in (0.5, 1.0, 1.5):
    out = generate(prompt.repeat(8, 1), 32, generator, temperature=temperature, top_p=0.95)
    tokens = out[:, 4:]
    pairs = (tokens[:, :-1] * V + tokens[:, 1:]).flatten()
    legal = torch.from_numpy(transition.reshape(-1) > 0)[pairs.cpu()].float().mean().item()
    print(f'temperature {temperature}: legal transitions {legal:.3f}, distinct characters '
          f'{len(tokens.unique())}')
