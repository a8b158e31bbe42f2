"""Sequence-to-sequence translation with ``nn.Transformer`` and beam search, written for the
xpnn tests after PyTorch's "Language Translation with nn.Transformer" tutorial, on a made-up
task: the target is the source reversed, with every token mapped by a fixed permutation.

Sentences of random lengths are padded by ``torch.nn.utils.rnn.pad_sequence(batch_first=
True, padding_value=PAD)``; the model is token embeddings scaled by sqrt(d_model) plus a
sinusoidal positional-encoding buffer, ``nn.Transformer(batch_first=True)`` with
``tgt_mask=nn.Transformer.generate_square_subsequent_mask(T)``, ``src_key_padding_mask``,
``tgt_key_padding_mask`` and ``memory_key_padding_mask``, trained under
``nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)`` by Adam.

Decoding: the encoder's memory once (``model.encode``), then greedy (a fixed number of
steps, cut at the first EOS) and beam search (beam 3)
by ``log_softmax``, ``topk`` over beam x vocab, ``gather`` and ``torch.cat``, finished
hypotheses ranked by their log-probability over length ** alpha (length normalisation).
Token accuracy and exact-match rates are printed for both.

    python tests/pytorch_programs/tutorials/seq2seq_transformer_beam.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

PAD, BOS, EOS = 0, 1, 2
n_words = 8
vocab = n_words + 3
mapping = torch.from_numpy(rng.permutation(n_words) + 3)


def make_pairs(count, lo=3, hi=8):
    pairs = []
    for _ in range(count):
        src = torch.from_numpy(rng.integers(3, vocab, rng.integers(lo, hi + 1)))
        tgt = mapping[src.flip(0) - 3]
        pairs.append((src, torch.cat([torch.tensor([BOS]), tgt, torch.tensor([EOS])])))
    return pairs


def collate(pairs):
    src = pad_sequence([s for s, _ in pairs], batch_first=True, padding_value=PAD)
    tgt = pad_sequence([t for _, t in pairs], batch_first=True, padding_value=PAD)
    return src, tgt


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=32):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer('pe', pe)

    def forward(self, x):
        return x + self.pe[:x.size(1)]


class Seq2SeqTransformer(nn.Module):
    def __init__(self, d_model=32, heads=4, layers=2, ff=64, dropout=0.1):
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.pos = PositionalEncoding(d_model)
        self.transformer = nn.Transformer(d_model, heads, layers, layers, ff, dropout,
                                          batch_first=True)
        self.generator = nn.Linear(d_model, vocab)

    def embed(self, table, tokens):
        return self.pos(table(tokens) * math.sqrt(self.d_model))

    def encode(self, src, src_pad):
        return self.transformer.encoder(self.embed(self.src_embed, src),
                                        src_key_padding_mask=src_pad)

    def decode(self, tgt, memory, memory_pad, tgt_pad=None):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1), device=tgt.device)
        out = self.transformer.decoder(self.embed(self.tgt_embed, tgt), memory, tgt_mask=mask,
                                       tgt_key_padding_mask=tgt_pad,
                                       memory_key_padding_mask=memory_pad,
                                       tgt_is_causal=True)
        return self.generator(out)

    def forward(self, src, tgt_in):
        src_pad, tgt_pad = src == PAD, tgt_in == PAD
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1),
                                                              device=tgt_in.device)
        out = self.transformer(self.embed(self.src_embed, src),
                               self.embed(self.tgt_embed, tgt_in), tgt_mask=mask,
                               src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                               memory_key_padding_mask=src_pad)
        return self.generator(out)


train_pairs, test_pairs = make_pairs(512), make_pairs(32)
model = Seq2SeqTransformer().to(device)
criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.98), eps=1e-9)


def evaluate_loss(pairs):
    model.eval()
    src, tgt = collate(pairs)
    src, tgt = src.to(device), tgt.to(device)
    with torch.no_grad():
        logits = model(src, tgt[:, :-1])
        return criterion(logits.reshape(-1, vocab), tgt[:, 1:].reshape(-1)).item()


for epoch in range(1, 9):
    model.train()
    total = 0.0
    order = rng.permutation(len(train_pairs))
    for i in range(0, len(order), 32):
        src, tgt = collate([train_pairs[j] for j in order[i:i + 32]])
        src, tgt = src.to(device), tgt.to(device)
        logits = model(src, tgt[:, :-1])
        loss = criterion(logits.reshape(-1, vocab), tgt[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    print(f'epoch {epoch} | train loss {total / (len(order) // 32):.4f} | '
          f'test loss {evaluate_loss(test_pairs):.4f}')


@torch.no_grad()
def greedy(src, max_len):
    src = src.unsqueeze(0).to(device)
    memory = model.encode(src, src == PAD)
    ys = torch.tensor([[BOS]], device=device)
    for _ in range(max_len):
        logits = model.decode(ys, memory, src == PAD)[:, -1]
        next_token = logits.argmax(-1, keepdim=True)
        ys = torch.cat([ys, next_token], dim=1)
    return ys[0, 1:]


@torch.no_grad()
def beam_search(src, max_len, beam=3, alpha=0.7):
    src = src.unsqueeze(0).to(device)
    memory = model.encode(src, src == PAD)
    ys = torch.full((1, 1), BOS, device=device)
    scores = torch.zeros(1, device=device)
    finished = []
    for step in range(1, max_len + 1):
        k = ys.size(0)
        logits = model.decode(ys, memory.expand(k, -1, -1), (src == PAD).expand(k, -1))
        log_probs = F.log_softmax(logits[:, -1], dim=-1)               # (k, vocab)
        total = (scores.unsqueeze(1) + log_probs).reshape(-1)
        top_scores, top = total.topk(beam)
        origin, token = top // vocab, top % vocab
        ys = torch.cat([ys.gather(0, origin.unsqueeze(1).expand(-1, ys.size(1))),
                        token.unsqueeze(1)], dim=1)
        keep = []
        for i, (tok, score) in enumerate(zip(token.tolist(), top_scores.tolist())):
            if tok == EOS:
                finished.append((score / step ** alpha, ys[i, 1:]))
            else:
                keep.append(i)
        if not keep or len(finished) >= beam:
            break
        keep = torch.tensor(keep, device=device)
        ys, scores = ys[keep], top_scores[keep]
    if not finished:
        finished = [(scores[0].tolist() / max_len ** alpha, ys[0, 1:])]
    return max(finished, key=lambda f: f[0])


def strip(seq):
    seq = seq.tolist()
    return seq[:seq.index(EOS)] if EOS in seq else seq


results = {'greedy': [0, 0, 0], 'beam': [0, 0, 0]}
for src, tgt in test_pairs:
    want = strip(tgt[1:])
    for name, got in (('greedy', strip(greedy(src, len(src) + 3))),
                      ('beam', strip(beam_search(src, len(src) + 3)[1]))):
        results[name][0] += sum(a == b for a, b in zip(got, want))
        results[name][1] += len(want)
        results[name][2] += got == want
score, best = beam_search(test_pairs[0][0], len(test_pairs[0][0]) + 3)
print(f'first source {test_pairs[0][0].tolist()} -> beam {strip(best)} '
      f'(normalised log-probability {score:.4f}), target {strip(test_pairs[0][1][1:])}')
for name, (right, count, exact) in results.items():
    print(f'{name}: token accuracy {right / count:.3f}, exact matches {exact}/{len(test_pairs)}')
