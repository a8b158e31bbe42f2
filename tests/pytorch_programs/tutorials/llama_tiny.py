"""A tiny LLaMA-style decoder (Touvron et al., 2023, "LLaMA: Open and Efficient Foundation
Language Models"), written for the xpnn tests after the reference model's layout, on made-up
arithmetic progressions modulo the vocabulary.

Each block is pre-normed by a hand-written RMSNorm (``x * torch.rsqrt(x.pow(2).mean(-1,
keepdim=True) + eps) * weight``), checked once against ``torch.nn.RMSNorm``. Rotary position
embeddings are applied through complex numbers: ``torch.polar`` of ones and the angles gives
the rotations, queries and keys are reshaped to pairs on their last dim and read by
``torch.view_as_complex``, multiplied, and brought back by ``torch.view_as_real`` and
``flatten``. Attention is grouped-query: two key/value heads shared by four query heads
through ``repeat_interleave`` on the head dim, and ``F.scaled_dot_product_attention(...,
is_causal=True)``. The MLP is SwiGLU (``F.silu(w1 x) * w3 x`` then ``w2``). A KV cache,
grown by ``torch.cat`` along the time dim, serves an incremental greedy generation whose
logits are checked equal to the full forward's. AdamW with decay / no-decay parameter groups
(matrices / norm weights) under a warmup-cosine ``LambdaLR``.

    python tests/pytorch_programs/tutorials/llama_tiny.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

vocab, seq_len = 16, 12


def make_batch(count):
    """Progressions start, start + step, ... modulo vocab, the step 1, 2 or 3."""
    start = rng.integers(0, vocab, (count, 1))
    step = rng.integers(1, 4, (count, 1))
    seq = (start + step * np.arange(seq_len + 1)) % vocab
    seq = torch.from_numpy(seq.astype(np.int64))
    return seq[:, :-1], seq[:, 1:]


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def precompute_freqs_cis(head_dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    t = torch.arange(end, device=freqs.device, dtype=torch.float32)
    freqs = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(freqs), freqs)      # complex64 (end, head_dim / 2)


def apply_rotary_emb(xq, xk, freqs_cis):
    """Rotate each (even, odd) pair of the last dim by the position's angle."""
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = freqs_cis.view(1, xq_.shape[1], 1, xq_.shape[-1])
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


class Attention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.n_rep = n_heads // n_kv_heads
        self.head_dim = dim // n_heads
        self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)

    def forward(self, x, freqs_cis, cache=None):
        bsz, seqlen, _ = x.shape
        xq = self.wq(x).view(bsz, seqlen, self.n_heads, self.head_dim)
        xk = self.wk(x).view(bsz, seqlen, self.n_kv_heads, self.head_dim)
        xv = self.wv(x).view(bsz, seqlen, self.n_kv_heads, self.head_dim)
        xq, xk = apply_rotary_emb(xq, xk, freqs_cis)
        if cache is not None:
            if 'k' in cache:
                xk = torch.cat([cache['k'], xk], dim=1)
                xv = torch.cat([cache['v'], xv], dim=1)
            cache['k'], cache['v'] = xk, xv
        q = xq.transpose(1, 2)
        k = xk.transpose(1, 2).repeat_interleave(self.n_rep, dim=1)
        v = xv.transpose(1, 2).repeat_interleave(self.n_rep, dim=1)
        # one new query attends to every cached key; a whole prompt is causal
        out = F.scaled_dot_product_attention(q, k, v, is_causal=seqlen > 1)
        return self.wo(out.transpose(1, 2).contiguous().view(bsz, seqlen, -1))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.attention = Attention(dim, n_heads, n_kv_heads)
        self.feed_forward = FeedForward(dim, 64)
        self.attention_norm = RMSNorm(dim)
        self.ffn_norm = RMSNorm(dim)

    def forward(self, x, freqs_cis, cache=None):
        h = x + self.attention(self.attention_norm(x), freqs_cis, cache)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama(nn.Module):
    def __init__(self, vocab, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_len=32):
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(TransformerBlock(dim, n_heads, n_kv_heads)
                                    for _ in range(n_layers))
        self.norm = RMSNorm(dim)
        self.output = nn.Linear(dim, vocab, bias=False)
        self.register_buffer('freqs_cis', precompute_freqs_cis(dim // n_heads, max_len),
                             persistent=False)

    def forward(self, tokens, start_pos=0, caches=None):
        seqlen = tokens.shape[1]
        h = self.tok_embeddings(tokens)
        freqs_cis = self.freqs_cis[start_pos:start_pos + seqlen]
        for i, layer in enumerate(self.layers):
            h = layer(h, freqs_cis, None if caches is None else caches[i])
        return self.output(self.norm(h))


train_x, train_y = make_batch(256)
test_x, test_y = make_batch(64)
print(f'example {train_x[0].tolist()} -> {train_y[0, -1].item()}')

model = Llama(vocab).to(device)
print(f'freqs_cis {model.freqs_cis.dtype}, shape {tuple(model.freqs_cis.shape)}, '
      f'|z| = 1: {torch.allclose(model.freqs_cis.abs(), torch.ones(1))}')
print(f'parameters {sum(p.numel() for p in model.parameters())}, buffers in state_dict '
      f'{[k for k in model.state_dict() if "freqs" in k]}')

decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
print(f'decay tensors {len(decay)}, no-decay tensors {len(no_decay)}')
optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1},
                               {'params': no_decay, 'weight_decay': 0.0}],
                              lr=3e-3, betas=(0.9, 0.95))
epochs, batch = 6, 32
total_steps = epochs * (len(train_x) // batch)
warmup = 6


def lr_lambda(step):
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        loss = F.cross_entropy(logits.reshape(-1, vocab), test_y.to(device).reshape(-1))
        acc = (logits.argmax(-1) == test_y.to(device)).float().mean()
    model.train()
    return loss.item(), acc.item()


loss, acc = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {acc:.3f}')

# the hand-written RMSNorm against nn.RMSNorm, same eps and weight
ref = nn.RMSNorm(32, eps=1e-6)
probe = torch.randn(3, 5, 32)
with torch.no_grad():
    ref.weight.copy_(torch.linspace(0.5, 1.5, 32))
    mine = RMSNorm(32)
    mine.weight.copy_(ref.weight)
    print(f'RMSNorm vs nn.RMSNorm: max diff {(mine(probe) - ref(probe)).abs().max().item():.2e}')

# rotation keeps norms, and the score of a rotated pair depends on the offset alone
q = torch.randn(1, 1, 1, 8).expand(1, 6, 1, 8)
k = torch.randn(1, 1, 1, 8).expand(1, 6, 1, 8)
rq, rk = apply_rotary_emb(q, k, model.freqs_cis[:6])
scores = torch.einsum('bthd,bshd->ts', rq, rk)
offset_one = torch.diagonal(scores, offset=-1)
print(f'rope keeps norms: {torch.allclose(rq.norm(dim=-1), q.norm(dim=-1), atol=1e-5)}, '
      f'same score at offset 1: {torch.allclose(offset_one, offset_one[0].expand(5), atol=1e-5)}'
      f', pairs dtype {rq.dtype}')

for epoch in range(1, epochs + 1):
    perm = torch.from_numpy(rng.permutation(len(train_x)))
    total = 0.0
    for i in range(0, len(train_x), batch):
        x = train_x[perm[i:i + batch]].to(device)
        y = train_y[perm[i:i + batch]].to(device)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item()
    loss, acc = evaluate()
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.2e} | train loss '
          f'{total / (len(train_x) // batch):.4f} | test loss {loss:.4f} | accuracy {acc:.3f}')


@torch.no_grad()
def generate(prompt, new_tokens):
    """Greedy decoding with a KV cache: the prompt once, then one token per step."""
    model.eval()
    caches = [{} for _ in model.layers]
    logits = model(prompt, 0, caches)
    out, steps = prompt, []
    for _ in range(new_tokens):
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        out = torch.cat([out, nxt], dim=1)
        logits = model(nxt, out.shape[1] - 1, caches)
        steps.append(logits[:, -1])
    return out, torch.stack(steps, dim=1), caches


prompt = test_x[:4, :3].to(device)
out, step_logits, caches = generate(prompt, 6)
with torch.no_grad():
    full = model(out)[:, prompt.shape[1]:]
for row in out.tolist():
    print('generated', row)
target = (test_x[:4, :1] + (test_x[:4, 1:2] - test_x[:4, :1]) % vocab
          * torch.arange(9)) % vocab
print(f'generated progressions correct: {(out == target).all(dim=1).sum().item()} of 4')
print(f'cached keys {tuple(caches[0]["k"].shape)}, incremental logits == full forward: '
      f'{torch.allclose(step_logits, full, atol=1e-4)}, max diff '
      f'{(step_logits - full).abs().max().item():.1e}')
