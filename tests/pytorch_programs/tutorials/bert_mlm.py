"""Masked-language-model pretraining of a tiny BERT (Devlin et al., 2019, "BERT: Pre-training
of Deep Bidirectional Transformers for Language Understanding"), written for the xpnn tests
after the paper's recipe, on made-up sentence pairs of a toy grammar.

Token, position and token-type (segment) embeddings are summed and layer-normed, then an
``nn.TransformerEncoder`` of ``nn.TransformerEncoderLayer(..., batch_first=True,
norm_first=True, activation="gelu")`` reads them with a ``src_key_padding_mask`` over the
padding. The masking is BERT's 80/10/10 rule: 15% of the real tokens are chosen by
``torch.bernoulli``, of those 80% become [MASK], 10% a random token (``torch.rand`` and
``torch.randint``), 10% stay, all by ``torch.where``; labels are -100 elsewhere, under
``nn.CrossEntropyLoss(ignore_index=-100)``. ``masked_fill_`` hides padding, ``masked_select``
gathers the predictions at the masked positions, whose accuracy alone is reported, evaluated
under ``torch.no_grad()`` with ``model.eval()``.

    python tests/pytorch_programs/tutorials/bert_mlm.py
"""
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

PAD, CLS, SEP, MASK = 0, 1, 2, 3
n_words = 20
vocab = 4 + n_words
max_len = 16


def sentence():
    """A counting run of 3 to 6 words: w, w + 1, ... (modulo the word count)."""
    start, length = rng.integers(0, n_words), rng.integers(3, 7)
    return [4 + (start + i) % n_words for i in range(length)]


def make_data(count):
    ids = np.full((count, max_len), PAD, dtype=np.int64)
    types = np.zeros((count, max_len), dtype=np.int64)
    for row in range(count):
        a, b = sentence(), sentence()
        seq = [CLS] + a + [SEP] + b + [SEP]
        ids[row, :len(seq)] = seq
        types[row, len(a) + 2:len(seq)] = 1
    return torch.from_numpy(ids), torch.from_numpy(types)


def mask_tokens(ids, p=0.15):
    """BERT's rule: choose p of the real tokens; 80% -> [MASK], 10% -> random, 10% kept."""
    labels = ids.clone()
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    prob = torch.full(ids.shape, p)
    prob.masked_fill_(special, 0.0)
    chosen = torch.bernoulli(prob).bool()
    labels[~chosen] = -100
    replace = torch.bernoulli(torch.full(ids.shape, 0.8)).bool() & chosen
    inputs = torch.where(replace, torch.full_like(ids, MASK), ids)
    randomize = (torch.rand(ids.shape) < 0.5) & chosen & ~replace
    random_words = torch.randint(4, vocab, ids.shape, dtype=torch.long)
    inputs = torch.where(randomize, random_words, inputs)
    return inputs, labels


class TinyBert(nn.Module):
    def __init__(self, vocab, d_model=32, nhead=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.pos = nn.Embedding(max_len, d_model)
        self.typ = nn.Embedding(2, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=64, dropout=0.1,
                                           batch_first=True, norm_first=True,
                                           activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(d_model)
        self.head = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(),
                                  nn.LayerNorm(d_model), nn.Linear(d_model, vocab))

    def forward(self, ids, types):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.tok(ids) + self.pos(positions) + self.typ(types)
        x = self.drop(self.norm(x))
        padding = ids == PAD
        h = self.encoder(x, src_key_padding_mask=padding)
        h = self.final_norm(h).masked_fill(padding.unsqueeze(-1), 0.0)
        return self.head(h)


train_ids, train_types = make_data(384)
test_ids, test_types = make_data(128)
print(f'example {train_ids[0].tolist()}')
print(f'types   {train_types[0].tolist()}')
inputs, labels = mask_tokens(train_ids)
chosen = labels != -100
real = (train_ids != PAD) & (train_ids != CLS) & (train_ids != SEP)
print(f'masked fraction {chosen.sum().item() / real.sum().item():.3f} of '
      f'{real.sum().item()} real tokens; [MASK] share '
      f'{(inputs[chosen] == MASK).float().mean().item():.2f}; kept share '
      f'{(inputs[chosen] == train_ids[chosen]).float().mean().item():.2f}')

model = TinyBert(vocab).to(device)
criterion = nn.CrossEntropyLoss(ignore_index=-100)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)

# a fixed masking of the test set, made once
test_inputs, test_labels = mask_tokens(test_ids)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_inputs.to(device), test_types.to(device))
        target = test_labels.to(device)
        loss = criterion(logits.view(-1, vocab), target.view(-1))
        at_masked = target != -100
        pred = logits.argmax(-1).masked_select(at_masked)
        true = target.masked_select(at_masked)
        accuracy = (pred == true).float().mean()
    model.train()
    return loss.item(), accuracy.item(), int(at_masked.sum())


loss, accuracy, count = evaluate()
print(f'untrained | test mlm loss {loss:.4f} | masked accuracy {accuracy:.3f} over {count}')
batch = 16
for epoch in range(1, 9):
    total, steps = 0.0, 0
    order = torch.from_numpy(rng.permutation(len(train_ids)))
    for i in range(0, len(train_ids), batch):
        ids = train_ids[order[i:i + batch]]
        types = train_types[order[i:i + batch]]
        inputs, labels = mask_tokens(ids)
        logits = model(inputs.to(device), types.to(device))
        loss = criterion(logits.view(-1, vocab), labels.to(device).view(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
        steps += 1
    loss, accuracy, count = evaluate()
    print(f'epoch {epoch} | train mlm loss {total / steps:.4f} | test mlm loss {loss:.4f} | '
          f'masked accuracy {accuracy:.3f}')

# the padding mask matters: a padded row predicts as the same row without the padding
model.eval()
with torch.no_grad():
    row = test_ids[:1]
    length = int((row != PAD).sum())
    full = model(row.to(device), test_types[:1].to(device))[:, :length]
    short = model(row[:, :length].to(device), test_types[:1, :length].to(device))
    print(f'padding ignored: {torch.allclose(full, short, atol=1e-5)}')
