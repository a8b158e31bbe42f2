"""A tiny RWKV language model (Peng et al., 2023, "RWKV: Reinventing RNNs for the Transformer
Era"), written for the xpnn tests after BlinkDL's RWKV-v4 reference code, as a char-level
model of a made-up text.

The text is sentences drawn from a small grammar (made with NumPy); the model reads 32
characters and predicts each next one. Each block has a time-mixing and a channel-mixing
layer behind LayerNorms. Both mix every token with the one before it by a token shift,
``nn.ZeroPad2d((0, 0, 1, -1))`` on (B, T, C): one zero row on top, the last row cropped by
the negative padding. The mixes are lerps ``x * mu + xx * (1 - mu)`` with learned mu. Time
mixing runs the WKV recurrence over T in a Python loop: per channel a decay w = -exp(decay)
and a bonus u for the current token, the numerator and denominator kept scaled by a running
maximum of the exponents (``torch.maximum``, ``torch.exp``) so that nothing overflows, gated by
``torch.sigmoid`` of the receptance. Channel mixing is ``sigmoid(r) * value(square(relu(key
x)))``. Adam with gradient clipping; the cross-entropy in bits per character per epoch, and a
check that the stabilised recurrence equals the plain one on short inputs.

    python tests/pytorch_programs/tutorials/rwkv_token_shift.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(6)
rng = np.random.default_rng(6)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

T, C, LAYERS = 32, 32, 2


def make_text(sentences):
    subjects = ['the cat', 'a dog', 'my fox', 'the owl']
    verbs = ['sees', 'chases', 'likes', 'hears']
    objects = ['the moon', 'a mouse', 'red fish', 'old trees']
    words = [f'{subjects[a]} {verbs[b]} {objects[c]}. '
             for a, b, c in rng.integers(0, 4, (sentences, 3))]
    return ''.join(words)


def wkv(w, u, k, v):
    """The WKV recurrence over time, numerically stabilised: a and b are the running
    numerator and denominator, both divided by exp(p), p the largest exponent so far."""
    B, T_, C_ = k.shape
    aa = torch.zeros(B, C_, device=k.device)
    bb = torch.zeros(B, C_, device=k.device)
    pp = torch.full((B, C_), -1e38, device=k.device)
    out = []
    for t in range(T_):
        kt, vt = k[:, t], v[:, t]
        ww = u + kt
        p = torch.maximum(pp, ww)
        e1, e2 = torch.exp(pp - p), torch.exp(ww - p)
        out.append((e1 * aa + e2 * vt) / (e1 * bb + e2))
        ww = pp + w
        p = torch.maximum(ww, kt)
        e1, e2 = torch.exp(ww - p), torch.exp(kt - p)
        aa, bb, pp = e1 * aa + e2 * vt, e1 * bb + e2, p
    return torch.stack(out, dim=1)


def wkv_plain(w, u, k, v):
    """The same recurrence without the running maximum (overflows for large k)."""
    a = torch.zeros_like(k[:, 0])
    b = torch.zeros_like(k[:, 0])
    out = []
    for t in range(k.shape[1]):
        out.append((a + torch.exp(u + k[:, t]) * v[:, t]) / (b + torch.exp(u + k[:, t])))
        a = torch.exp(w) * a + torch.exp(k[:, t]) * v[:, t]
        b = torch.exp(w) * b + torch.exp(k[:, t])
    return torch.stack(out, dim=1)


class TimeMix(nn.Module):
    def __init__(self, layer):
        super().__init__()
        ratio = 1 - layer / LAYERS
        ramp = torch.arange(C).float() / C
        self.time_decay = nn.Parameter(-5 + 8 * (torch.arange(C).float() / (C - 1)) ** 0.7)
        self.time_first = nn.Parameter(torch.full((C,), math.log(0.3)) + 0.5 * (ramp % 0.3))
        self.time_mix_k = nn.Parameter(ramp ** ratio)
        self.time_mix_v = nn.Parameter(ramp ** ratio + 0.3 * (1 - ratio))
        self.time_mix_r = nn.Parameter(ramp ** (0.5 * ratio))
        self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)

    def forward(self, x):
        xx = self.time_shift(x)
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k, v = self.key(xk), self.value(xv)
        sr = torch.sigmoid(self.receptance(xr))
        w = -torch.exp(self.time_decay)
        return self.output(sr * wkv(w, self.time_first, k, v))


class ChannelMix(nn.Module):
    def __init__(self, layer):
        super().__init__()
        ratio = 1 - layer / LAYERS
        ramp = torch.arange(C).float() / C
        self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
        self.time_mix_k = nn.Parameter(ramp ** ratio)
        self.time_mix_r = nn.Parameter(ramp ** ratio)
        self.key = nn.Linear(C, 4 * C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(4 * C, C, bias=False)

    def forward(self, x):
        xx = self.time_shift(x)
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k = torch.square(torch.relu(self.key(xk)))
        return torch.sigmoid(self.receptance(xr)) * self.value(k)


class Block(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.att, self.ffn = TimeMix(layer), ChannelMix(layer)

    def forward(self, x):
        x = x + self.att(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class RWKV(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.emb = nn.Embedding(vocab, C)
        self.ln0 = nn.LayerNorm(C)
        self.blocks = nn.Sequential(*[Block(i) for i in range(LAYERS)])
        self.ln_out = nn.LayerNorm(C)
        self.head = nn.Linear(C, vocab, bias=False)

    def forward(self, idx):
        return self.head(self.ln_out(self.blocks(self.ln0(self.emb(idx)))))


text = make_text(300)
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)
windows = data.unfold(0, T + 1, T)  # non-overlapping windows of T + 1 characters
split = int(0.8 * len(windows))
train, test = windows[:split], windows[split:]
print(f'{len(text)} characters, vocabulary {len(chars)}, {len(train)} training windows')

shift = nn.ZeroPad2d((0, 0, 1, -1))
demo = torch.arange(6.0).view(1, 3, 2)
print(f'token shift of {demo[0].tolist()}: {shift(demo)[0].tolist()}')

model = RWKV(len(chars)).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=4e-3, betas=(0.9, 0.99))
loader = DataLoader(TensorDataset(train[:, :-1], train[:, 1:]), batch_size=16, shuffle=True)


def evaluate():
    with torch.no_grad():
        logits = model(test[:, :-1].to(device))
        return F.cross_entropy(logits.reshape(-1, len(chars)), test[:, 1:].reshape(-1)).item()


loss = evaluate()
print(f'untrained | test loss {loss:.4f} | {loss / math.log(2):.3f} bits/char')

# the stabilised recurrence against the plain one, where the plain one does not overflow
with torch.no_grad():
    att = model.blocks[0].att
    k, v = torch.randn(2, 8, C), torch.randn(2, 8, C)
    w = -torch.exp(att.time_decay)
    same = torch.allclose(wkv(w, att.time_first, k, v), wkv_plain(w, att.time_first, k, v),
                          atol=1e-5)
    print(f'stabilised wkv matches the plain recurrence: {same}')

for epoch in range(1, 7):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, len(chars)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    loss = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'{loss / math.log(2):.3f} bits/char')
