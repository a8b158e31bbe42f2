"""A small ``nn.Transformer`` that learns to reverse sequences, written for the xpnn tests,
on made-up sequences of 3 to 6 tokens from 6 symbols, padded to 6.

The encoder reads the padded source under a key padding mask; the decoder, under
``generate_square_subsequent_mask`` and its own padding mask, is trained with teacher
forcing on ``<bos>`` + the reversed sequence and cross-entropy that ignores the padding.
At test time the decoder runs greedily, one token at a time (``topk`` of the last
position's logits), and the accuracy of whole sequences and of tokens is printed.

    python tests/pytorch_programs/tutorials/transformer_seq2seq.py
"""
import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
rng = random.Random(11)

PAD, BOS, EOS = 0, 1, 2
n_symbols, max_len = 6, 6
vocab = n_symbols + 3


def make_pairs(n):
    src = torch.full((n, max_len), PAD, dtype=torch.long)
    tgt = torch.full((n, max_len + 2), PAD, dtype=torch.long)
    for i in range(n):
        seq = [rng.randint(3, vocab - 1) for _ in range(rng.randint(3, max_len))]
        src[i, :len(seq)] = torch.tensor(seq)
        tgt[i, :len(seq) + 2] = torch.tensor([BOS] + seq[::-1] + [EOS])
    return src, tgt


train_src, train_tgt = make_pairs(512)
test_src, test_tgt = make_pairs(64)
print('train:', tuple(train_src.shape), tuple(train_tgt.shape), train_src.dtype)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=16):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer('pe', pe)

    def forward(self, x):
        return x + self.pe[:x.size(1)]


def padding_mask(tokens):
    # float, like the causal mask: -inf where a key is padding
    return torch.zeros(tokens.shape).masked_fill(tokens == PAD, float('-inf'))


class Reverser(nn.Module):
    def __init__(self, d_model=32, nhead=4, n_layers=2):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.pos = PositionalEncoding(d_model)
        self.transformer = nn.Transformer(d_model, nhead, n_layers, n_layers,
                                          dim_feedforward=64, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d_model, vocab)

    def encode(self, src):
        return self.pos(self.embed(src) * math.sqrt(self.d_model))

    def forward(self, src, tgt_in):
        tgt_mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
        src_pad, tgt_pad = padding_mask(src), padding_mask(tgt_in)
        h = self.transformer(self.encode(src), self.encode(tgt_in), tgt_mask=tgt_mask,
                             src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                             memory_key_padding_mask=src_pad)
        return self.out(h)

    @torch.no_grad()
    def greedy(self, src, steps):
        ys = torch.full((src.size(0), 1), BOS, dtype=torch.long)
        for _ in range(steps):
            logits = self(src, ys)[:, -1]
            _, top = logits.topk(1, dim=-1)
            ys = torch.cat([ys, top], dim=1)
        return ys[:, 1:]


model = Reverser()
print(model.transformer.encoder.layers[0])
print('parameters:', sum(p.numel() for p in model.parameters()))
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
loader = DataLoader(TensorDataset(train_src, train_tgt), batch_size=64, shuffle=True)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_src, test_tgt[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), test_tgt[:, 1:].reshape(-1),
                               ignore_index=PAD).item()
    pred = model.greedy(test_src, max_len + 1)
    target = test_tgt[:, 1:]
    mask = target != PAD
    tokens = ((pred == target) & mask).sum().item() / mask.sum().item()
    whole = ((pred == target) | ~mask).all(dim=1).sum().item()
    return loss, tokens, whole, pred


for epoch in range(1, 9):
    model.train()
    total = 0.0
    for src, tgt in loader:
        logits = model(src, tgt[:, :-1])          # teacher forcing
        loss = F.cross_entropy(logits.reshape(-1, vocab), tgt[:, 1:].reshape(-1),
                               ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    test_loss, tokens, whole, pred = evaluate()
    print('epoch {} | train loss {:.4f} | test loss {:.4f} | token accuracy {:.3f} | '
          'sequences right {}/{}'.format(epoch, total / len(loader), test_loss, tokens, whole, len(test_src)))

n = int((test_src[0] != PAD).sum())
print('source:', test_src[0, :n].tolist(), 'greedy:', pred[0, :n + 1].tolist())
