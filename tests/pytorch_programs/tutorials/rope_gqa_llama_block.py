"""A tiny LLaMA-style decoder (Touvron et al., 2023, "LLaMA"; Su et al., 2021, "RoFormer";
Ainslie et al., 2023, "GQA"; Shazeer, 2020, "GLU Variants Improve Transformer"; Press et al.,
2022, "Train Short, Test Long" for ALiBi), written for the xpnn tests after Meta's reference
model.py, on made-up sequences.

Each sequence follows a Fibonacci rule modulo 13 (every token is the sum of the two before
it) from a random start, with one token in ten replaced at random (made with NumPy). The model
is a token embedding and two pre-norm decoder blocks: ``nn.RMSNorm``, grouped-query attention
with 4 query heads sharing 2 key/value heads by ``repeat_interleave`` into
``F.scaled_dot_product_attention(is_causal=True)``, and a SwiGLU MLP ``w2(F.silu(w1 x) *
w3 x)``. The first block places tokens by rotary embeddings: complex rotations
``torch.polar(ones, angles)`` multiply the queries and keys viewed as complex pairs by
``torch.view_as_complex(x.float().reshape(..., -1, 2))``, brought back by
``torch.view_as_real(...).flatten(3)`` and ``type_as``. The second block uses ALiBi
instead: no rotation, a causal linear bias with per-head slopes ``2 ** (-8 * i / n)`` passed
as a float ``attn_mask``. Once, the grouped-query attention is checked against
``scaled_dot_product_attention(enable_gqa=True)``, and the rotation against its norm-keeping
property. AdamW; next-token cross-entropy and accuracy per epoch.

    python tests/pytorch_programs/tutorials/rope_gqa_llama_block.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

VOCAB, SEQ, DIM, HEADS, KV_HEADS = 13, 24, 32, 4, 2
HEAD_DIM = DIM // HEADS


def make_data(count):
    seqs = np.zeros((count, SEQ + 1), dtype=np.int64)
    seqs[:, :2] = rng.integers(0, VOCAB, (count, 2))
    for t in range(2, SEQ + 1):
        seqs[:, t] = (seqs[:, t - 1] + seqs[:, t - 2]) % VOCAB
    noise = rng.random(seqs.shape) < 0.1
    seqs[noise] = rng.integers(0, VOCAB, noise.sum())
    seqs = torch.tensor(seqs)
    return seqs[:, :-1], seqs[:, 1:]


def precompute_freqs_cis(dim, length, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
    angles = torch.outer(torch.arange(length).float(), freqs)
    return torch.polar(torch.ones_like(angles), angles)  # complex64, (length, dim / 2)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = freqs_cis.view(1, xq_.shape[1], 1, xq_.shape[-1])
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def alibi_bias(heads, length):
    slopes = torch.tensor([2 ** (-8 * (i + 1) / heads) for i in range(heads)])
    pos = torch.arange(length)
    distance = (pos[None, :] - pos[:, None]).float()  # j - i, negative in the past
    bias = slopes[:, None, None] * distance
    causal = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
    return bias.masked_fill(causal, float('-inf'))  # (heads, length, length)


class Attention(nn.Module):
    def __init__(self, alibi=False):
        super().__init__()
        self.alibi = alibi
        self.wq = nn.Linear(DIM, HEADS * HEAD_DIM, bias=False)
        self.wk = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.wv = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=False)
        self.wo = nn.Linear(HEADS * HEAD_DIM, DIM, bias=False)

    def forward(self, x, freqs_cis, bias):
        bsz, seqlen, _ = x.shape
        xq = self.wq(x).view(bsz, seqlen, HEADS, HEAD_DIM)
        xk = self.wk(x).view(bsz, seqlen, KV_HEADS, HEAD_DIM)
        xv = self.wv(x).view(bsz, seqlen, KV_HEADS, HEAD_DIM)
        if not self.alibi:
            xq, xk = apply_rotary_emb(xq, xk, freqs_cis)
        q, k, v = xq.transpose(1, 2), xk.transpose(1, 2), xv.transpose(1, 2)
        k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
        if self.alibi:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias[:, :seqlen, :seqlen])
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.wo(out.transpose(1, 2).contiguous().view(bsz, seqlen, -1))


class FeedForward(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.w1 = nn.Linear(DIM, hidden, bias=False)
        self.w2 = nn.Linear(hidden, DIM, bias=False)
        self.w3 = nn.Linear(DIM, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, alibi):
        super().__init__()
        self.attention_norm = nn.RMSNorm(DIM, eps=1e-6)
        self.attention = Attention(alibi)
        self.ffn_norm = nn.RMSNorm(DIM, eps=1e-6)
        self.feed_forward = FeedForward()

    def forward(self, x, freqs_cis, bias):
        h = x + self.attention(self.attention_norm(x), freqs_cis, bias)
        return h + self.feed_forward(self.ffn_norm(h))


class TinyLlama(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_embeddings = nn.Embedding(VOCAB, DIM)
        self.layers = nn.ModuleList([Block(alibi=False), Block(alibi=True)])
        self.norm = nn.RMSNorm(DIM, eps=1e-6)
        self.output = nn.Linear(DIM, VOCAB, bias=False)
        self.register_buffer('freqs_cis', precompute_freqs_cis(HEAD_DIM, SEQ), persistent=False)
        self.register_buffer('alibi', alibi_bias(HEADS, SEQ), persistent=False)

    def forward(self, tokens):
        h = self.tok_embeddings(tokens)
        freqs_cis = self.freqs_cis[: tokens.shape[1]]
        for layer in self.layers:
            h = layer(h, freqs_cis, self.alibi)
        return self.output(self.norm(h))


train_x, train_y = make_data(384)
test_x, test_y = make_data(128)
print(f'alibi slopes: {[round(2 ** (-8 * (i + 1) / HEADS), 4) for i in range(HEADS)]}')
model = TinyLlama().to(device)
print(f'parameters: {sum(p.numel() for p in model.parameters())}, '
      f'freqs_cis {model.freqs_cis.dtype}')

optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), test_y.to(device).reshape(-1))
        # the first two targets cannot be predicted; accuracy from the third on
        correct = (logits.argmax(-1)[:, 1:] == test_y.to(device)[:, 1:]).float().mean()
    model.train()
    return loss.item(), correct.item()


loss, acc = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {acc:.3f} | uniform {math.log(VOCAB):.4f}')
# grouped-query attention: repeat_interleave against enable_gqa, and the rotation keeps norms
with torch.no_grad():
    x = model.tok_embeddings(test_x[:4].to(device))
    attn = model.layers[0].attention
    q = attn.wq(x).view(4, SEQ, HEADS, HEAD_DIM)
    k = attn.wk(x).view(4, SEQ, KV_HEADS, HEAD_DIM)
    v = attn.wv(x).view(4, SEQ, KV_HEADS, HEAD_DIM)
    rq, rk = apply_rotary_emb(q, k, model.freqs_cis)
    q, k, v = rq.transpose(1, 2), rk.transpose(1, 2), v.transpose(1, 2)
    repeated = F.scaled_dot_product_attention(q, k.repeat_interleave(2, dim=1),
                                              v.repeat_interleave(2, dim=1), is_causal=True)
    grouped = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    print(f'enable_gqa matches repeat_interleave: '
          f'{torch.allclose(repeated, grouped, atol=1e-6)}')
    norms = torch.linalg.vector_norm(rk, dim=-1) / torch.linalg.vector_norm(
        attn.wk(x).view(4, SEQ, KV_HEADS, HEAD_DIM), dim=-1)
    print(f'rotary keeps norms: {torch.allclose(norms, torch.ones_like(norms), atol=1e-5)}')

for epoch in range(1, 9):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, VOCAB), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    loss, acc = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'accuracy {acc:.3f}')
