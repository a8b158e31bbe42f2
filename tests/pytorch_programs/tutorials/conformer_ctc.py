"""A tiny Conformer speech recognizer (Gulati et al., 2020, "Conformer: Convolution-augmented
Transformer for Speech Recognition"), written for the xpnn tests after the paper's block, on
made-up "utterances": label sequences rendered as log-mel-like frames.

Each utterance is 2-4 labels from 5 "phones"; a phone is a few frames of its own spectral
shape over 16 frequency bins plus noise, so utterances have different lengths (padded). The
model: a ``Linear`` front end, then Conformer blocks of a half-step feed-forward module
(LayerNorm, Linear, ``nn.SiLU``, Dropout, Linear), multi-head self-attention
(``nn.MultiheadAttention(batch_first=True)`` with a ``key_padding_mask`` from the lengths),
the convolution module (pointwise ``Conv1d`` to 2C channels, ``F.glu(dim=1)``, a depthwise
``Conv1d(C, C, k, groups=C)``, ``BatchNorm1d``, ``nn.SiLU``, a pointwise ``Conv1d``), a
second half-step feed-forward module and a final LayerNorm. Training batches go through
SpecAugment: a time mask and a frequency mask per utterance, their widths and starts drawn
by ``torch.randint`` and applied by ``masked_fill``. The loss is ``F.ctc_loss`` on the
log-softmax in (T, N, C) layout with padded targets, input and target lengths; decoding is
greedy: ``argmax``, ``torch.unique_consecutive``, blanks dropped; the label error rate by
edit distance.

    python tests/pytorch_programs/tutorials/conformer_ctc.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_mels, n_phones, blank = 16, 5, 0
templates = rng.uniform(0.0, 1.0, size=(n_phones + 1, n_mels)) ** 2 * 3


def make_set(count):
    feats, labels, frames, lengths = [], [], [], []
    for _ in range(count):
        seq = rng.integers(1, n_phones + 1, size=rng.integers(2, 5))
        rows = []
        for phone in seq:
            rows += [templates[phone]] * rng.integers(3, 6)
            rows += [templates[0] * 0.2] * rng.integers(0, 2)   # a short pause
        utterance = np.array(rows) + rng.normal(0, 0.3, size=(len(rows), n_mels))
        feats.append(utterance)
        labels.append(seq)
    t_max = max(len(f) for f in feats)
    x = np.zeros((count, t_max, n_mels), np.float32)
    y = np.zeros((count, 4), np.int64)
    for i, (f, s) in enumerate(zip(feats, labels)):
        x[i, :len(f)] = f
        y[i, :len(s)] = s
        frames.append(len(f))
        lengths.append(len(s))
    return (torch.from_numpy(x), torch.from_numpy(y), torch.tensor(frames),
            torch.tensor(lengths))


train_set, test_set = make_set(256), make_set(64)
print(f'train {tuple(train_set[0].shape)}, frames {train_set[2].min().item()}-'
      f'{train_set[2].max().item()}, label lengths {train_set[3].bincount().tolist()}')


def spec_augment(x, frames, max_time=5, max_freq=3):
    n, t, f = x.shape
    width = torch.randint(0, max_time + 1, (n, 1), device=x.device)
    start = (torch.randint(0, 1000, (n, 1), device=x.device) % (frames[:, None] - width + 1))
    steps = torch.arange(t, device=x.device)
    time_mask = (steps >= start) & (steps < start + width)
    fwidth = torch.randint(0, max_freq + 1, (n, 1), device=x.device)
    fstart = torch.randint(0, f - max_freq, (n, 1), device=x.device)
    bins = torch.arange(f, device=x.device)
    freq_mask = (bins >= fstart) & (bins < fstart + fwidth)
    x = x.masked_fill(time_mask[:, :, None], 0.0)
    return x.masked_fill(freq_mask[:, None, :], 0.0)


class FeedForward(nn.Sequential):
    def __init__(self, d, dropout):
        super().__init__(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.SiLU(), nn.Dropout(dropout),
                         nn.Linear(4 * d, d), nn.Dropout(dropout))


class ConvModule(nn.Module):
    def __init__(self, d, kernel=7, dropout=0.1):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.pointwise1 = nn.Conv1d(d, 2 * d, 1)
        self.depthwise = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d, bias=False)
        self.bn = nn.BatchNorm1d(d)
        self.act = nn.SiLU()
        self.pointwise2 = nn.Conv1d(d, d, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):                               # (N, T, C)
        h = self.norm(x).transpose(1, 2)                 # (N, C, T)
        h = F.glu(self.pointwise1(h), dim=1)
        h = self.act(self.bn(self.depthwise(h)))
        return self.drop(self.pointwise2(h)).transpose(1, 2)


class ConformerBlock(nn.Module):
    def __init__(self, d, heads=4, dropout=0.1):
        super().__init__()
        self.ff1 = FeedForward(d, dropout)
        self.attn_norm = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.attn_drop = nn.Dropout(dropout)
        self.conv = ConvModule(d, dropout=dropout)
        self.ff2 = FeedForward(d, dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, x, padding):
        x = x + 0.5 * self.ff1(x)
        h = self.attn_norm(x)
        x = x + self.attn_drop(self.attn(h, h, h, key_padding_mask=padding,
                                         need_weights=False)[0])
        x = x + self.conv(x)
        x = x + 0.5 * self.ff2(x)
        return self.norm(x)


class Conformer(nn.Module):
    def __init__(self, d=32, blocks=2):
        super().__init__()
        self.front = nn.Linear(n_mels, d)
        self.blocks = nn.ModuleList(ConformerBlock(d) for _ in range(blocks))
        self.out = nn.Linear(d, n_phones + 1)

    def forward(self, x, frames):
        padding = torch.arange(x.size(1), device=x.device)[None, :] >= frames[:, None]
        h = self.front(x)
        for block in self.blocks:
            h = block(h, padding)
        return self.out(h).log_softmax(-1)               # (N, T, C)


def ctc(log_probs, y, frames, lengths):
    return F.ctc_loss(log_probs.transpose(0, 1), y, frames, lengths, blank=blank,
                      zero_infinity=True)


def greedy_decode(log_probs, frames):
    best = log_probs.argmax(-1)
    out = []
    for row, t in zip(best, frames.tolist()):
        collapsed = torch.unique_consecutive(row[:t])
        out.append(collapsed[collapsed != blank].tolist())
    return out


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[-1]


def evaluate(model):
    model.eval()
    x, y, frames, lengths = (t.to(device) for t in test_set)
    with torch.no_grad():
        log_probs = model(x, frames)
        loss = ctc(log_probs, y, frames, lengths).item()
    hyps = greedy_decode(log_probs, frames)
    refs = [row[:n].tolist() for row, n in zip(y, lengths.tolist())]
    errors = sum(edit_distance(h, r) for h, r in zip(hyps, refs))
    exact = sum(h == r for h, r in zip(hyps, refs))
    return loss, errors / lengths.sum().item(), exact / len(refs), hyps[:3], refs[:3]


model = Conformer().to(device)
print(f'parameters {sum(p.numel() for p in model.parameters())}, depthwise weight '
      f'{tuple(model.blocks[0].conv.depthwise.weight.shape)}')
loss, ler, exact, _, _ = evaluate(model)
print(f'untrained | test ctc loss {loss:.4f} | label error rate {ler:.3f}')
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
batch_size = 32
for epoch in range(1, 9):
    model.train()
    order = torch.from_numpy(rng.permutation(len(train_set[0])))
    total = 0.0
    for i in range(0, len(order), batch_size):
        x, y, frames, lengths = (t[order[i:i + batch_size]].to(device) for t in train_set)
        x = spec_augment(x, frames)
        loss = ctc(model(x, frames), y, frames, lengths)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        total += loss.item()
    loss, ler, exact, hyps, refs = evaluate(model)
    print(f'epoch {epoch} | train loss {total / (len(order) // batch_size):.4f} | '
          f'test ctc loss {loss:.4f} | label error rate {ler:.3f} | exact {exact:.3f}')
print(f'decoded {hyps}')
print(f'targets {refs}')
