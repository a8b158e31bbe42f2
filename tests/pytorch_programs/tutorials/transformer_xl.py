"""A small Transformer-XL language model (Dai et al., 2019, "Transformer-XL: Attentive
Language Models Beyond a Fixed-Length Context"), written for the xpnn tests after the
paper's segment-level recurrence and relative positional encoding, on made-up token streams.

Each stream repeats a pattern of 11 tokens with 10% of the tokens replaced by noise. The
streams are cut into segments of 12 tokens; each layer's queries come from the current
segment and attend over ``torch.cat([mem.detach(), h], dim=1)``, the layer's inputs of the
previous segment (the memory, updated by ``torch.cat`` and sliced ``[:, -mem_len:]`` under
``torch.no_grad``), so the context reaches further back than one segment while the
gradient stops at the segment boundary (truncated BPTT). The causal mask is
``torch.triu(torch.ones(q_len, k_len), diagonal=1 + mem_len).bool()``. Positions are
relative: sinusoids of the distances ``torch.arange(k_len - 1, -1, -1.0)`` (``torch.outer``
with the inverse frequencies, ``torch.cat([sin, cos], -1)``), projected and added to the
content scores through the learned biases u and v, aligned by the zero-pad "relative shift".
The attention is written by hand: ``scores.masked_fill(mask, float("-inf"))``,
``F.softmax``, dropout. Perplexity is ``math.exp`` of the mean loss.

    python tests/pytorch_programs/tutorials/transformer_xl.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

vocab, period = 16, 11
seg_len, mem_len = 12, 12


def make_streams(count, length):
    pattern = rng.integers(0, vocab, size=period)
    start = rng.integers(0, period, size=(count, 1))
    tokens = pattern[(start + np.arange(length)) % period]
    noise = rng.random(tokens.shape) < 0.1
    tokens = np.where(noise, rng.integers(0, vocab, size=tokens.shape), tokens)
    return torch.from_numpy(tokens).long()


streams = make_streams(24, 6 * seg_len + 1)
train_data, valid_data = streams[:16].to(device), streams[16:].to(device)


def positional_embedding(k_len, d_model):
    pos_seq = torch.arange(k_len - 1, -1, -1.0, device=device)
    inv_freq = 1 / (10000 ** (torch.arange(0.0, d_model, 2.0, device=device) / d_model))
    sinusoid = torch.outer(pos_seq, inv_freq)
    assert torch.allclose(sinusoid, torch.einsum('i,j->ij', pos_seq, inv_freq))
    return torch.cat([sinusoid.sin(), sinusoid.cos()], -1)


def rel_shift(x):
    # (B, H, Q, K): row i moves left by Q - 1 - i, so its column j holds distance i + M - j
    b, h, q, k = x.shape
    zero_pad = torch.zeros((b, h, q, 1), dtype=x.dtype, device=x.device)
    padded = torch.cat([zero_pad, x], dim=-1).view(b, h, k + 1, q)
    return padded[:, :, 1:].view_as(x)


class RelMultiHeadAttn(nn.Module):
    def __init__(self, d_model, n_head, dropout):
        super().__init__()
        self.n_head, self.d_head = n_head, d_model // n_head
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.r_net = nn.Linear(d_model, d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)
        self.scale = 1 / math.sqrt(self.d_head)

    def forward(self, h, mem, r, u, v):
        b, q_len, _ = h.shape
        cat = torch.cat([mem.detach(), h], dim=1)
        k_len = cat.shape[1]
        q, k, val = self.qkv(cat).chunk(3, dim=-1)
        q = q[:, -q_len:]
        q = q.view(b, q_len, self.n_head, self.d_head).transpose(1, 2)
        k = k.view(b, k_len, self.n_head, self.d_head).transpose(1, 2)
        val = val.view(b, k_len, self.n_head, self.d_head).transpose(1, 2)
        r_k = self.r_net(r).view(k_len, self.n_head, self.d_head)
        content = (q + u[:, None]) @ k.transpose(-2, -1)
        position = rel_shift(torch.einsum('bhqd,khd->bhqk', q + v[:, None], r_k))
        scores = (content + position) * self.scale
        mask = torch.triu(torch.ones(q_len, k_len, device=h.device),
                          diagonal=1 + k_len - q_len).bool()
        scores = scores.masked_fill(mask, float('-inf'))
        attn = self.drop(F.softmax(scores, dim=-1))
        y = (attn @ val).transpose(1, 2).reshape(b, q_len, -1)
        return self.norm(h + self.drop(self.out(y)))


class DecoderLayer(nn.Module):
    def __init__(self, d_model, n_head, d_inner, dropout):
        super().__init__()
        self.attn = RelMultiHeadAttn(d_model, n_head, dropout)
        self.ff = nn.Sequential(nn.Linear(d_model, d_inner), nn.ReLU(), nn.Dropout(dropout),
                                nn.Linear(d_inner, d_model), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, h, mem, r, u, v):
        h = self.attn(h, mem, r, u, v)
        return self.norm(h + self.ff(h))


class TransformerXL(nn.Module):
    def __init__(self, d_model=32, n_head=2, d_inner=64, n_layer=2, dropout=0.1):
        super().__init__()
        self.d_model, self.n_layer = d_model, n_layer
        self.embed = nn.Embedding(vocab, d_model)
        self.u = nn.Parameter(torch.zeros(n_head, d_model // n_head))
        self.v = nn.Parameter(torch.zeros(n_head, d_model // n_head))
        self.layers = nn.ModuleList(DecoderLayer(d_model, n_head, d_inner, dropout)
                                    for _ in range(n_layer))
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(d_model, vocab)

    def init_mems(self, batch):
        return [torch.zeros(batch, 0, self.d_model, device=device)
                for _ in range(self.n_layer)]

    def forward(self, tokens, mems):
        h = self.drop(self.embed(tokens) * math.sqrt(self.d_model))
        k_len = tokens.shape[1] + mems[0].shape[1]
        r = self.drop(positional_embedding(k_len, self.d_model))
        hids = [h]
        for layer, mem in zip(self.layers, mems):
            h = layer(h, mem, r, self.u, self.v)
            hids.append(h)
        with torch.no_grad():
            new_mems = [torch.cat([mem, hid], dim=1)[:, -mem_len:].detach()
                        for mem, hid in zip(mems, hids)]
        return self.head(self.drop(h)), new_mems


model = TransformerXL().to(device)
print(f'parameters {sum(p.numel() for p in model.parameters())}')
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
criterion = nn.CrossEntropyLoss()

check = rel_shift(torch.arange(6.0).view(1, 1, 2, 3))
print(f'rel_shift of arange(6).view(1, 1, 2, 3): {check.view(-1).tolist()}')
mask = torch.triu(torch.ones(3, 5), diagonal=1 + 2).bool()
print(f'mask for 3 queries over 2 memories:\n{mask}')
print(f'train streams {tuple(train_data.shape)}, valid streams {tuple(valid_data.shape)}, '
      f'dtype {train_data.dtype}')


def evaluate(data):
    model.eval()
    mems = model.init_mems(data.shape[0])
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, data.shape[1] - 1, seg_len):
            x, y = data[:, i:i + seg_len], data[:, i + 1:i + 1 + seg_len]
            logits, mems = model(x, mems)
            total += criterion(logits.reshape(-1, vocab), y.reshape(-1)).item() * y.numel()
            count += y.numel()
    model.train()
    return total / count


loss = evaluate(valid_data)
print(f'untrained | valid loss {loss:.4f} | valid ppl {math.exp(loss):.2f}')
for epoch in range(1, 7):
    mems = model.init_mems(train_data.shape[0])
    total = []
    for i in range(0, train_data.shape[1] - 1, seg_len):
        x, y = train_data[:, i:i + seg_len], train_data[:, i + 1:i + 1 + seg_len]
        logits, mems = model(x, mems)
        loss = criterion(logits.reshape(-1, vocab), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        total.append(loss.item())
    assert all(not m.requires_grad and m.shape[1] == mem_len for m in mems)
    train_loss = sum(total) / len(total)
    loss = evaluate(valid_data)
    print(f'epoch {epoch} | train loss {train_loss:.4f} | valid loss {loss:.4f} | '
          f'valid ppl {math.exp(loss):.2f}')

# the memory lets the model read past its segment: the first segment (no memory) against
# the later ones
model.eval()
with torch.no_grad():
    mems = model.init_mems(valid_data.shape[0])
    losses = []
    for i in range(0, valid_data.shape[1] - 1, seg_len):
        x, y = valid_data[:, i:i + seg_len], valid_data[:, i + 1:i + 1 + seg_len]
        logits, mems = model(x, mems)
        losses.append(criterion(logits.reshape(-1, vocab), y.reshape(-1)).item())
print(f'first segment loss {losses[0]:.4f} | later segments loss '
      f'{sum(losses[1:]) / len(losses[1:]):.4f}')
state = {k: v.clone() for k, v in model.state_dict().items()}
copy = TransformerXL().to(device)
copy.load_state_dict(state)
copy.eval()
with torch.no_grad():
    a, _ = copy(valid_data[:, :seg_len], copy.init_mems(valid_data.shape[0]))
    b, _ = model(valid_data[:, :seg_len], model.init_mems(valid_data.shape[0]))
print(f'restored copy agrees: {torch.allclose(a, b)}')
