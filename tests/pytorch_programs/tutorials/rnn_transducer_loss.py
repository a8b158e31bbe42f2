"""An RNN transducer (Graves, 2012, "Sequence Transduction with Recurrent Neural Networks"),
written for the xpnn tests with its loss by hand, on a made-up copy task.

Each input is a sequence of noisy one-hot frames, every label held for one or two frames
with blank frames between some; the target is the label sequence. An ``nn.LSTM`` encoder
reads the frames; the prediction network is an ``nn.Embedding`` of the blank-prefixed labels
into an ``nn.GRU``; the joint network adds the two by broadcasting into a (B, T, U+1, H)
grid, ``torch.tanh`` and an ``nn.Linear`` over the vocabulary, then ``F.log_softmax``. The
blank log-probabilities are ``[..., 0]`` and the label ones are picked by ``gather`` with an
expanded index. The forward variables alpha(t, u) over the (T, U) lattice are filled in a
Python loop, each by ``torch.logsumexp`` of a ``torch.stack`` of the two ways in; the loss
of each sequence is read at its own (T_b - 1, U_b) by a boolean mask built from
``arange``s (variable lengths), and checked once in float64 against every alignment
enumerated by ``itertools``. Adam with ``clip_grad_norm_``; a greedy decoder steps the GRU
one label at a time (at most a few symbols per frame) and the sequences are scored by an
edit distance.

    python tests/pytorch_programs/tutorials/rnn_transducer_loss.py
"""
import copy
import itertools
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)

BLANK = 0
n_labels = 5                 # labels 1..5
vocab = n_labels + 1
max_u, max_t = 4, 10


def make_batch(count):
    """Noisy one-hot frames (count, max_t, vocab), their lengths, the padded targets
    (count, max_u) and their lengths."""
    x = np.zeros((count, max_t, vocab), np.float32)
    y = np.zeros((count, max_u), np.int64)
    t_len = np.zeros(count, np.int64)
    u_len = np.zeros(count, np.int64)
    for row in range(count):
        u = rng.integers(2, max_u + 1)
        labels = rng.integers(1, vocab, u)
        frames = []
        for lab in labels:
            frames += [lab] * int(rng.integers(1, 3))
            if rng.random() < 0.3:
                frames.append(BLANK)
        frames = frames[:max_t]
        x[row, np.arange(len(frames)), frames] = 1.0
        y[row, :u] = labels
        t_len[row], u_len[row] = len(frames), u
    x += 0.3 * rng.standard_normal(x.shape).astype(np.float32)
    return (torch.from_numpy(x), torch.from_numpy(t_len), torch.from_numpy(y),
            torch.from_numpy(u_len))


class Transducer(nn.Module):
    def __init__(self, hidden=32, joint=32):
        super().__init__()
        self.encoder = nn.LSTM(vocab, hidden, batch_first=True)
        self.embed = nn.Embedding(vocab, hidden)
        self.predictor = nn.GRU(hidden, hidden, batch_first=True)
        self.enc_proj = nn.Linear(hidden, joint)
        self.pred_proj = nn.Linear(hidden, joint, bias=False)
        self.out = nn.Linear(joint, vocab)

    def predict(self, labels, h=None):
        g, h = self.predictor(self.embed(labels), h)
        return self.pred_proj(g), h

    def joint(self, f, g):
        return F.log_softmax(self.out(torch.tanh(f + g)), dim=-1)

    def forward(self, x, y):
        f = self.enc_proj(self.encoder(x)[0])                       # (B, T, J)
        start = torch.full((y.shape[0], 1), BLANK, dtype=torch.long)
        g, _ = self.predict(torch.cat([start, y], dim=1))           # (B, U+1, J)
        return self.joint(f[:, :, None, :], g[:, None, :, :])       # (B, T, U+1, V)


def transducer_loss(logp, y, t_len, u_len):
    """Minus the log-likelihood of each target, by the forward variables."""
    B, T, U1, V = logp.shape
    blank = logp[..., BLANK]                                        # (B, T, U+1)
    index = y[:, None, :, None].expand(B, T, U1 - 1, 1)
    emit = logp[:, :, :-1, :].gather(3, index).squeeze(3)           # (B, T, U)
    alpha = [[None] * U1 for _ in range(T)]
    for t in range(T):
        for u in range(U1):
            if t == 0 and u == 0:
                alpha[t][u] = torch.zeros(B, dtype=logp.dtype)
                continue
            ways = []
            if t > 0:
                ways.append(alpha[t - 1][u] + blank[:, t - 1, u])
            if u > 0:
                ways.append(alpha[t][u - 1] + emit[:, t, u - 1])
            alpha[t][u] = torch.logsumexp(torch.stack(ways), dim=0)
    alpha = torch.stack([torch.stack(row, dim=1) for row in alpha], dim=1)  # (B, T, U+1)
    final = alpha + blank
    at_end = ((torch.arange(T)[None, :, None] == (t_len - 1)[:, None, None])
              & (torch.arange(U1)[None, None, :] == u_len[:, None, None]))
    return -torch.where(at_end, final, torch.zeros_like(final)).sum(dim=(1, 2))


def brute_force_loss(logp, y, T, U):
    """Minus the log of the summed probability of every alignment of one sequence: the
    positions of the U label emissions among the T + U steps."""
    total = []
    for labels_at in itertools.combinations(range(T + U - 1), U):
        t = u = 0
        lp = 0.0
        for step in range(T + U - 1):
            if step in labels_at:
                lp = lp + logp[t, u, y[u]]
                u += 1
            else:
                lp = lp + logp[t, u, BLANK]
                t += 1
        total.append(lp + logp[T - 1, U, BLANK])
    return -torch.logsumexp(torch.stack(total), dim=0)


@torch.no_grad()
def greedy_decode(model, x, t_len, max_symbols=3):
    f = model.enc_proj(model.encoder(x)[0])
    hyps = []
    for b in range(x.shape[0]):
        g, h = model.predict(torch.full((1, 1), BLANK, dtype=torch.long))
        hyp = []
        for t in range(int(t_len[b])):
            for _ in range(max_symbols):
                k = model.joint(f[b, t], g[0, 0]).argmax().item()
                if k == BLANK:
                    break
                hyp.append(k)
                g, h = model.predict(torch.tensor([[k]]), h)
        hyps.append(hyp)
    return hyps


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[-1]


model = Transducer()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
x_test, t_test, y_test, u_test = make_batch(24)

def evaluate():
    model.eval()
    with torch.no_grad():
        loss = transducer_loss(model(x_test, y_test), y_test, t_test, u_test)
        loss = (loss / u_test).mean().item()
    hyps = greedy_decode(model, x_test, t_test)
    errors = sum(edit_distance(h, y_test[b, :int(u_test[b])].tolist())
                 for b, h in enumerate(hyps))
    exact = sum(h == y_test[b, :int(u_test[b])].tolist() for b, h in enumerate(hyps))
    model.train()
    return loss, errors / u_test.sum().item(), exact, hyps


loss, ter, exact, hyps = evaluate()
print(f"untrained | test loss {loss:.4f} | token error {ter:.3f} | exact {exact}/24")

# the lattice recursion against every alignment, on an untrained model in float64
with torch.no_grad():
    m64 = copy.deepcopy(model).double()
    logp = m64(x_test[:3].double(), y_test[:3])
    dp = transducer_loss(logp, y_test[:3], t_test[:3], u_test[:3])
    bf = torch.stack([brute_force_loss(logp[b], y_test[b], int(t_test[b]), int(u_test[b]))
                      for b in range(3)])
    paths = sum(math.comb(int(t_test[b] + u_test[b]) - 1, int(u_test[b])) for b in range(3))
    print(f"forward variables against {paths} alignments: allclose "
          f"{torch.allclose(dp, bf)} | loss {dp.sum().item():.6f}")
for epoch in range(1, 7):
    total = 0.0
    for step in range(10):
        x, t_len, y, u_len = make_batch(16)
        logp = model(x, y)
        loss = (transducer_loss(logp, y, t_len, u_len) / u_len).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    loss, ter, exact, hyps = evaluate()
    print(f"epoch {epoch} | train loss {total / 10:.4f} | test loss {loss:.4f} | "
          f"token error {ter:.3f} | exact {exact}/24")
print("target", y_test[0, :int(u_test[0])].tolist(), "decoded", hyps[0])
