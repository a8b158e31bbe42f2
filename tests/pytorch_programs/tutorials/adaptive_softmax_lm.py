"""A word-level LSTM language model under an adaptive softmax (Grave et al., 2017,
"Efficient softmax approximation for GPUs"), written small for the xpnn tests after
PyTorch's word_language_model example, on a made-up corpus.

The corpus is a stream over 400 "words" whose frequencies follow Zipf's law (word ``r`` of
rank r has probability proportional to 1/(r+1)); half the time the next word follows from the
previous one by a fixed rule, so there is something to learn. The batches are made as in
the example (``batchify`` into columns, ``get_batch`` windows of 20 steps, the hidden state
carried over and detached between windows).

The output layer is ``nn.AdaptiveLogSoftmaxWithLoss(cutoffs=[20, 100], div_value=4.0)``:
a head over the 20 most frequent words and two clusters. The input side is an adaptive
input of the same clusters (an ``nn.Embedding`` per cluster of the width of that
cluster's projection, then a ``Linear`` up to the model width), and each tail cluster's
output weight is tied to its input embedding by assigning the same ``nn.Parameter``.
Adam with ``clip_grad_norm_``; the validation perplexity is ``torch.exp`` of the mean
NLL. At the end ``.log_prob`` (rows summing to one) and ``.predict`` (against the argmax of
``log_prob``) are checked, with the accuracy per frequency band.

    python tests/pytorch_programs/tutorials/adaptive_softmax_lm.py
"""
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

vocab, cutoffs = 400, [20, 100]
zipf = 1.0 / np.arange(1, vocab + 1)
zipf /= zipf.sum()
rule = rng.permutation(vocab)


def make_corpus(length):
    words = np.empty(length, dtype=np.int64)
    words[0] = 0
    fresh = rng.choice(vocab, size=length, p=zipf)
    follow = rng.random(length) < 0.5
    for i in range(1, length):
        words[i] = rule[words[i - 1]] % 60 if follow[i] else fresh[i]
    return torch.from_numpy(words)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data[:nbatch * bsz].view(bsz, -1).t().contiguous().to(device)


bptt = 20


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


train_data = batchify(make_corpus(6400), 16)
val_data = batchify(make_corpus(2000), 10)
print(f'train {tuple(train_data.shape)} val {tuple(val_data.shape)}; '
      f'share of the 20 most frequent words '
      f'{(train_data < cutoffs[0]).float().mean().item():.3f}')


class AdaptiveInput(nn.Module):
    def __init__(self, d_model, bounds, div_value):
        super().__init__()
        self.bounds = bounds
        self.embeddings = nn.ModuleList()
        self.projections = nn.ModuleList()
        for i in range(len(bounds) - 1):
            width = int(d_model // div_value ** i)
            self.embeddings.append(nn.Embedding(bounds[i + 1] - bounds[i], width))
            self.projections.append(nn.Identity() if i == 0 else
                                    nn.Linear(width, d_model, bias=False))
        self.d_model = d_model

    def forward(self, tokens):
        out = torch.zeros(*tokens.shape, self.d_model, device=tokens.device)
        for i, (emb, proj) in enumerate(zip(self.embeddings, self.projections)):
            lo, hi = self.bounds[i], self.bounds[i + 1]
            mask = (tokens >= lo) & (tokens < hi)
            out[mask] = proj(emb(tokens[mask] - lo))
        return out


class AdaptiveLM(nn.Module):
    def __init__(self, d_model=64, nhid=64, dropout=0.2):
        super().__init__()
        self.encoder = AdaptiveInput(d_model, [0, *cutoffs, vocab], 4.0)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.LSTM(d_model, nhid)
        self.crit = nn.AdaptiveLogSoftmaxWithLoss(nhid, vocab, cutoffs=cutoffs, div_value=4.0)
        for i, tail in enumerate(self.crit.tail):
            tail[1].weight = self.encoder.embeddings[i + 1].weight
        self.nhid = nhid

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(1, bsz, self.nhid), weight.new_zeros(1, bsz, self.nhid))

    def forward(self, tokens, hidden):
        output, hidden = self.rnn(self.drop(self.encoder(tokens)), hidden)
        return self.drop(output).reshape(-1, self.nhid), hidden


def repackage_hidden(h):
    return tuple(v.detach() for v in h)


model = AdaptiveLM().to(device)
n_params = sum(p.numel() for p in model.parameters())
tied = model.crit.tail[0][1].weight is model.encoder.embeddings[1].weight
print(f'parameters {n_params}, tail weights tied to the input embeddings: {tied}')
print(model.crit)
optimizer = torch.optim.Adam(model.parameters(), lr=4e-3)


def evaluate(source):
    model.eval()
    total, count = 0.0, 0
    hidden = model.init_hidden(source.size(1))
    with torch.no_grad():
        for i in range(0, source.size(0) - 1, bptt):
            data, targets = get_batch(source, i)
            output, hidden = model(data, hidden)
            out = model.crit(output, targets)
            total += out.loss * len(targets)
            count += len(targets)
    return total / count


for epoch in range(1, 5):
    model.train()
    hidden = model.init_hidden(train_data.size(1))
    total_loss, norms = 0.0, []
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = model.crit(output, targets).loss
        optimizer.zero_grad()
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5))
        optimizer.step()
        total_loss += loss.item()
    val_nll = evaluate(val_data)
    print(f'epoch {epoch} | train loss {total_loss / (batch + 1):.4f} | mean grad norm '
          f'{torch.stack(norms).mean().item():.3f} | valid loss {val_nll.item():.4f} | '
          f'valid ppl {torch.exp(val_nll).item():.2f}')

model.eval()
with torch.no_grad():
    data, targets = get_batch(val_data, 0)
    output, _ = model(data, model.init_hidden(val_data.size(1)))
    log_probs = model.crit.log_prob(output)
    predicted = model.crit.predict(output)
    row_sums = log_probs.exp().sum(dim=1)
    agree = (predicted == log_probs.argmax(dim=1)).float().mean().item()
    nll = -log_probs.gather(1, targets.unsqueeze(1)).mean()
print(f'log_prob {tuple(log_probs.shape)}, rows sum to 1: '
      f'{torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-5)}; '
      f'predict agrees with argmax: {agree:.3f}')
print(f'nll from log_prob {nll.item():.4f} vs the module loss '
      f'{model.crit(output, targets).loss.item():.4f}')
for name, lo, hi in (('head', 0, cutoffs[0]), ('tail 1', cutoffs[0], cutoffs[1]),
                     ('tail 2', cutoffs[1], vocab)):
    band = (targets >= lo) & (targets < hi)
    acc = (predicted[band] == targets[band]).float().mean().item() if band.any() else math.nan
    print(f'{name:>6}: {band.sum().item():3d} targets, accuracy {acc:.3f}')
