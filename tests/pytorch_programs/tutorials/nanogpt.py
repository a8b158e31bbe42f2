"""A tiny GPT after nanoGPT, written for the xpnn tests: a character-level language model
trained on a made-up corpus of short sentences.

Token and position embeddings, pre-norm blocks whose causal self-attention calls
``F.scaled_dot_product_attention(is_causal=True)``, the output layer tied to the token
embedding (``self.lm_head.weight = self.wte.weight``), AdamW with two parameter groups (no
weight decay for biases and LayerNorm weights, chosen by ``p.dim() < 2``), gradient
accumulation over micro-batches, a warmup-cosine learning rate set by hand in each
``param_group["lr"]``, ``clip_grad_norm_``, a ``torch.save`` checkpoint resumed into a fresh model (TF32 allowed by
``torch.backends.cuda.matmul.allow_tf32`` as nanoGPT does); then sampling under ``@torch.no_grad()`` with a
temperature, top-k filtering and ``torch.multinomial``.

    python tests/pytorch_programs/tutorials/nanogpt.py
"""
import inspect
import io
import math
from contextlib import nullcontext

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
torch.backends.cuda.matmul.allow_tf32 = True  # allow tf32 on matmul
torch.backends.cudnn.allow_tf32 = True  # allow tf32 on cudnn

subjects = ['the cat', 'a dog', 'my friend', 'the bird', 'our teacher']
verbs = ['sees', 'likes', 'finds', 'draws', 'hears']
objects = ['the moon', 'a red ball', 'some tea', 'the river', 'a small box']
text = ''
for i in range(160):
    text += f'{subjects[i % 5]} {verbs[(i * 3) % 5]} {objects[(i * 7 + i // 5) % 5]}. '
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for i, ch in enumerate(chars)}
encode = lambda s: [stoi[c] for c in s]
decode = lambda ids: ''.join(itos[i] for i in ids)
data = torch.tensor(encode(text), dtype=torch.long)
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]
print(f'{len(text)} characters, vocabulary of {vocab_size}')

block_size = 24


def windows(d):
    starts = torch.arange(0, len(d) - block_size - 1, 8)
    idx = starts[:, None] + torch.arange(block_size + 1)
    chunk = d[idx]
    return chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()


train_loader = DataLoader(TensorDataset(*windows(train_data)), batch_size=16, shuffle=True,
                          drop_last=True)
val_x, val_y = windows(val_data)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)
        self.n_head = n_head
        self.dropout = dropout

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                           dropout_p=self.dropout if self.training else 0,
                                           is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer=2, n_head=4, n_embd=32, dropout=0.1):
        super().__init__()
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        else:
            logits = self.lm_head(x[:, [-1], :])
            loss = None
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float('Inf')
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


model = GPT(vocab_size, block_size)
print(f'number of parameters: {sum(p.numel() for p in model.parameters()) / 1e3:.2f}K')
assert model.lm_head.weight is model.wte.weight

param_dict = {pn: p for pn, p in model.named_parameters() if p.requires_grad}
decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
optim_groups = [{'params': decay_params, 'weight_decay': 0.1},
                {'params': nodecay_params, 'weight_decay': 0.0}]
print(f'decayed tensors: {len(decay_params)}, with '
      f'{sum(p.numel() for p in decay_params):,} parameters')
print(f'non-decayed tensors: {len(nodecay_params)}, with '
      f'{sum(p.numel() for p in nodecay_params):,} parameters')
device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
extra_args = dict(fused=True) if fused_available and device_type == 'cuda' else dict()
print(f'fused AdamW available: {fused_available}, used: {bool(extra_args)}')
optimizer = torch.optim.AdamW(optim_groups, lr=3e-3, betas=(0.9, 0.95), **extra_args)
ctx = nullcontext() if device_type == 'cpu' else \
    torch.amp.autocast(device_type=device_type, dtype=torch.bfloat16)

learning_rate, min_lr, warmup_iters, accumulation = 3e-3, 3e-4, 4, 2
max_iters = 4 * len(train_loader) // accumulation


def get_lr(it):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    ratio = (it - warmup_iters) / (max_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * min(ratio, 1.0)))
    return min_lr + coeff * (learning_rate - min_lr)


@torch.no_grad()
def estimate_loss():
    model.eval()
    _, loss = model(val_x, val_y)
    model.train()
    return loss.item()


it = 0
for epoch in range(4):
    model.train()
    running = 0.0
    for micro_step, (xb, yb) in enumerate(train_loader):
        lr = get_lr(it)
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        with ctx:
            _, loss = model(xb, yb)
        (loss / accumulation).backward()
        running += loss.item()
        if (micro_step + 1) % accumulation == 0:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            it += 1
    print(f'epoch {epoch} | iters {it} | lr {lr:.2e} | grad norm {norm.item():.4f} | '
          f'train loss {running / len(train_loader):.4f} | val loss {estimate_loss():.4f}')

checkpoint = {'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
              'iter_num': it, 'config': dict(vocab_size=vocab_size, block_size=block_size)}
buffer = io.BytesIO()
torch.save(checkpoint, buffer)
buffer.seek(0)
checkpoint = torch.load(buffer)
print(f'checkpoint keys: {sorted(checkpoint["model"])[:4]} ..., '
      f'{len(checkpoint["model"])} tensors, iter {checkpoint["iter_num"]}')
resumed = GPT(**checkpoint['config'])
resumed.load_state_dict(checkpoint['model'])
assert resumed.lm_head.weight is resumed.wte.weight
resumed.eval()
with torch.no_grad():
    print(f'resumed val loss {resumed(val_x, val_y)[1].item():.4f}')

model.eval()
start = torch.tensor([encode('the ')], dtype=torch.long)
out = model.generate(start, 40, temperature=0.8, top_k=5)
print('sample:', decode(out[0].tolist()))
