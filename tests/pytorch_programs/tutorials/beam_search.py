"""Beam search decoding of a small Transformer, written small for the xpnn tests after
PyTorch's Transformer tutorials and the usual batched beam search of translation toolkits,
on a made-up task: sort a sequence of 3 to 7 digits.

An ``nn.TransformerEncoder`` reads the padded digits (``src_key_padding_mask``) into a
memory; an ``nn.TransformerDecoder`` under
``nn.Transformer.generate_square_subsequent_mask`` predicts the sorted digits then an end
token, trained by teacher forcing under ``F.cross_entropy(ignore_index=PAD)``. Decoding is
greedy (argmax per step) or by beam search written out: the memory repeated per beam
(``repeat_interleave``), ``log_softmax`` scores added to each beam's, ``topk`` over
beam x vocabulary, the flat indices split by ``//`` and ``%`` into the beam they extend and
the token they add, the beams reordered by ``index_select`` and the best hypothesis taken by
``gather`` after length normalisation. The exact-match accuracies of both are printed.

    python tests/pytorch_programs/tutorials/beam_search.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
BOS, EOS, PAD = 10, 11, 12
VOCAB, MAX_LEN = 13, 7


def make_data(n):
    src = np.full((n, MAX_LEN), PAD)
    tgt = np.full((n, MAX_LEN + 2), PAD)
    for i in range(n):
        length = rng.integers(3, MAX_LEN + 1)
        digits = rng.integers(0, 10, length)
        src[i, :length] = digits
        tgt[i, :length + 2] = [BOS, *np.sort(digits), EOS]
    return torch.from_numpy(src), torch.from_numpy(tgt)


class Sorter(nn.Module):
    def __init__(self, d_model=32, nhead=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model, padding_idx=PAD)
        self.pos = nn.Embedding(MAX_LEN + 2, d_model)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, nhead, 64, dropout=0.0, batch_first=True),
            layers, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, nhead, 64, dropout=0.0, batch_first=True),
            layers)
        self.out = nn.Linear(d_model, VOCAB)

    def embed_tokens(self, tokens):
        positions = torch.arange(tokens.size(1), device=tokens.device)
        return self.embed(tokens) + self.pos(positions)

    def encode(self, src):
        padding = src == PAD
        return self.encoder(self.embed_tokens(src), src_key_padding_mask=padding), padding

    def decode(self, tgt, memory, memory_padding):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1), device=tgt.device)
        h = self.decoder(self.embed_tokens(tgt), memory, tgt_mask=mask,
                         memory_key_padding_mask=memory_padding)
        return self.out(h)

    def forward(self, src, tgt):
        memory, padding = self.encode(src)
        return self.decode(tgt, memory, padding)


train_src, train_tgt = make_data(1024)
test_src, test_tgt = make_data(128)
loader = DataLoader(TensorDataset(train_src, train_tgt), batch_size=64, shuffle=True)
model = Sorter().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
print(f'parameters: {sum(p.numel() for p in model.parameters())}')

for epoch in range(1, 9):
    model.train()
    total, count = 0.0, 0
    for src, tgt in loader:
        src, tgt = src.to(device), tgt.to(device)
        logits = model(src, tgt[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tgt[:, 1:].reshape(-1),
                               ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item() * len(src)
        count += len(src)
    model.eval()
    with torch.no_grad():
        logits = model(test_src.to(device), test_tgt[:, :-1].to(device))
        test_loss = F.cross_entropy(logits.reshape(-1, VOCAB),
                                    test_tgt[:, 1:].reshape(-1).to(device),
                                    ignore_index=PAD).item()
    print(f'epoch {epoch} | train loss {total / count:.4f} | test loss {test_loss:.4f}')


@torch.no_grad()
def greedy(src, steps=MAX_LEN + 1):
    memory, padding = model.encode(src)
    seqs = torch.full((src.size(0), 1), BOS, dtype=torch.long, device=src.device)
    for _ in range(steps):
        next_token = model.decode(seqs, memory, padding)[:, -1].argmax(dim=-1)
        seqs = torch.cat([seqs, next_token.unsqueeze(1)], dim=1)
    return seqs[:, 1:]


@torch.no_grad()
def beam_search(src, beam=4, alpha=0.7, steps=MAX_LEN + 1):
    batch = src.size(0)
    memory, padding = model.encode(src)
    memory = memory.repeat_interleave(beam, dim=0)
    padding = padding.repeat_interleave(beam, dim=0)
    seqs = torch.full((batch * beam, 1), BOS, dtype=torch.long, device=src.device)
    scores = torch.zeros(batch, beam, device=src.device)
    scores[:, 1:] = float('-inf')
    finished = torch.zeros(batch * beam, dtype=torch.bool, device=src.device)
    lengths = torch.zeros(batch * beam, device=src.device)
    for _ in range(steps):
        logp = F.log_softmax(model.decode(seqs, memory, padding)[:, -1], dim=-1)
        stay = torch.full_like(logp, float('-inf'))
        stay[:, PAD] = 0.0
        logp = torch.where(finished.unsqueeze(1), stay, logp)
        candidates = (scores.view(-1, 1) + logp).view(batch, beam * VOCAB)
        top_scores, top_index = candidates.topk(beam, dim=1)
        from_beam = top_index // VOCAB
        token = top_index % VOCAB
        rows = (torch.arange(batch, device=src.device).unsqueeze(1) * beam + from_beam).view(-1)
        seqs = torch.cat([seqs.index_select(0, rows), token.view(-1, 1)], dim=1)
        was_finished = finished.index_select(0, rows)
        lengths = lengths.index_select(0, rows) + (~was_finished).float()
        finished = was_finished | (token.view(-1) == EOS)
        scores = top_scores
        if finished.all():
            break
    normalised = scores / lengths.view(batch, beam) ** alpha
    best = normalised.argmax(dim=1)
    seqs = seqs[:, 1:].view(batch, beam, -1)
    index = best.view(batch, 1, 1).expand(-1, 1, seqs.size(2))
    return seqs.gather(1, index).squeeze(1), normalised.max(dim=1).values


def exact_match(pred, tgt):
    """A prediction counts when it equals the target up to and including the end token."""
    correct = 0
    for p, t in zip(pred.tolist(), tgt[:, 1:].tolist()):
        want = t[:t.index(EOS) + 1]
        correct += int(p[:len(want)] == want)
    return correct


model.eval()
src = test_src.to(device)
greedy_pred = greedy(src)
beam_pred, beam_scores = beam_search(src)
print(f'greedy exact match {exact_match(greedy_pred, test_tgt)}/{len(src)}')
print(f'beam exact match {exact_match(beam_pred, test_tgt)}/{len(src)}')
print(f'first test input {test_src[0][test_src[0] != PAD].tolist()} -> greedy '
      f'{greedy_pred[0].tolist()} | beam {beam_pred[0].tolist()} '
      f'(normalised log-prob {beam_scores[0].item():.4f})')
