"""A byte-pair-encoding tokenizer learned with tensor operations, then a small GRU language
model on its tokens, written for the xpnn tests on made-up sentences from a tiny grammar.

BPE: the text is a 1-D ``int64`` tensor of character ids. Each merge stacks the neighbour
pairs ``torch.stack([ids[:-1], ids[1:]], dim=1)``, drops those touching a space or a newline
by a mask, counts the rest by ``torch.unique(pairs, dim=0, return_counts=True)`` and merges
the most frequent pair (ties to the smallest pair, as ``unique`` sorts them) into a new
token. The merge is applied with masks: matching positions, overlapping runs of a repeated
pair (``aa`` in ``aaa``) resolved leftmost-first by the position within each run from
``torch.cummax``, the first position rewritten by ``torch.where`` and the second dropped by
boolean indexing. Encoding new text replays the merges in order; decoding joins the merged
strings back.

LM: each sentence's tokens feed a GRU through ``nn.utils.rnn.pack_sequence(...,
enforce_sorted=False)`` of embedded sequences; ``pad_packed_sequence(batch_first=True)``
brings the outputs back, and targets padded by ``pad_sequence(padding_value=-100)`` are
ignored by ``F.cross_entropy``. Perplexity per token and per character on held-out
sentences.

    python tests/pytorch_programs/tutorials/bpe_tokenizer_lm.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

dets = ['the', 'a', 'that']
adjs = ['small', 'tall', 'sleepy', 'green', '']
nouns = ['cat', 'dog', 'bird', 'farmer', 'teacher']
verbs = ['sees', 'feeds', 'follows', 'greets']


def sentence():
    words = [rng.choice(dets), rng.choice(adjs), rng.choice(nouns), rng.choice(verbs),
             rng.choice(dets), rng.choice(adjs), rng.choice(nouns)]
    return ' '.join(w for w in words if w)


train_text = [sentence() for _ in range(240)]
test_text = [sentence() for _ in range(40)]
chars = sorted(set(''.join(train_text + test_text)) | {'\n'})
strings = list(chars)                       # token id -> its string
SPACE, NEWLINE = chars.index(' '), chars.index('\n')
print(f'{len(train_text)} training sentences, {len(chars)} characters, e.g. "{train_text[0]}"')


def to_ids(lines):
    text = '\n'.join(lines) + '\n'
    return torch.tensor([chars.index(c) for c in text], dtype=torch.int64, device=device)


def apply_merge(ids, pair, new_id):
    match = (ids[:-1] == pair[0]) & (ids[1:] == pair[1])
    # a run of matches (a repeated token) merges leftmost first: keep even positions in it
    starts = match & ~torch.cat([match.new_zeros(1), match[:-1]])
    idx = torch.arange(len(match), device=ids.device)
    run_start = torch.cummax(torch.where(starts, idx, torch.zeros_like(idx)), dim=0).values
    keep = match & ((idx - run_start) % 2 == 0)
    first = torch.cat([keep, keep.new_zeros(1)])
    second = torch.cat([keep.new_zeros(1), keep])
    merged = torch.where(first, torch.full_like(ids, new_id), ids)
    return merged[~second]


ids = to_ids(train_text)
n_chars = len(ids)
merges = []
for m in range(40):
    pairs = torch.stack([ids[:-1], ids[1:]], dim=1)
    ok = ((pairs != SPACE) & (pairs != NEWLINE)).all(dim=1)
    uniq, counts = torch.unique(pairs[ok], dim=0, return_counts=True)
    best = counts.argmax()
    if counts[best].item() < 2:
        break
    pair = tuple(uniq[best].tolist())
    new_id = len(strings)
    strings.append(strings[pair[0]] + strings[pair[1]])
    merges.append((pair, new_id))
    ids = apply_merge(ids, pair, new_id)
    if m % 8 == 0 or m == 39:
        print(f'merge {m:2d}: {strings[pair[0]]!r} + {strings[pair[1]]!r} '
              f'({counts[best].item()} times) -> {len(ids)} tokens')
vocab = len(strings)
print(f'vocabulary {vocab}, {n_chars} characters -> {len(ids)} tokens, '
      f'{n_chars / len(ids):.3f} characters per token')
# a repeated-token run merges leftmost first, as a left-to-right scan would
run = torch.tensor([5, 5, 5, 2, 5, 5, 5, 5], device=device)
print('merging (5, 5) in', run.tolist(), '->', apply_merge(run, (5, 5), 9).tolist())


def encode(lines):
    out = to_ids(lines)
    for pair, new_id in merges:
        out = apply_merge(out, pair, new_id)
    return out


def split_sentences(tokens):
    ends = (tokens == NEWLINE).nonzero().squeeze(1).tolist()
    pieces, start = [], 0
    for end in ends:
        pieces.append(tokens[start:end + 1])      # each keeps its newline, the end token
        start = end + 1
    return pieces


assert torch.equal(encode(train_text), ids)
test_ids = encode(test_text)
decoded = ''.join(strings[t] for t in test_ids.tolist()).split('\n')[:-1]
print('decoding round trip:', decoded == test_text, f'"{decoded[0]}"')
train_seqs = split_sentences(ids)
test_seqs = split_sentences(test_ids)
BOS = vocab
print(f'{len(train_seqs)} training sequences of {min(map(len, train_seqs))} to '
      f'{max(map(len, train_seqs))} tokens')


class GRULM(nn.Module):
    def __init__(self, vocab, dim=32, hidden=64):
        super().__init__()
        self.embed = nn.Embedding(vocab + 1, dim)    # + the start token
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, seqs):
        inputs = [self.embed(torch.cat([s.new_full((1,), BOS), s[:-1]])) for s in seqs]
        packed = pack_sequence(inputs, enforce_sorted=False)
        output, _ = self.gru(packed)
        padded, lengths = pad_packed_sequence(output, batch_first=True)
        return self.out(padded), lengths


def loss_of(model, seqs, reduction='mean'):
    logits, _ = model(seqs)
    targets = pad_sequence(list(seqs), batch_first=True, padding_value=-100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=-100, reduction=reduction)


model = GRULM(vocab).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loader = DataLoader(train_seqs, batch_size=24, shuffle=True, collate_fn=lambda b: b)
test_tokens = sum(len(s) for s in test_seqs)
test_chars = sum(len(s) for s in test_text) + len(test_text)
for epoch in range(1, 9):
    model.train()
    total = count = 0
    for batch in loader:
        loss = loss_of(model, batch)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
        count += 1
    model.eval()
    with torch.no_grad():
        nll = loss_of(model, test_seqs, reduction='sum').item()
    print(f'epoch {epoch} | train loss {total / count:.4f} | test perplexity '
          f'{math.exp(nll / test_tokens):.3f} per token, {math.exp(nll / test_chars):.3f} '
          f'per character')
