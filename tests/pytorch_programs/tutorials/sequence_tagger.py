"""A bidirectional GRU sequence tagger, written for the xpnn tests, on 400 made-up sentences
of 3 to 12 words over a 30-word vocabulary with 4 tags: determiners, nouns, verbs, and
ambiguous words tagged as nouns after a determiner and as verbs elsewhere, so that the tag
needs the context.

Variable-length sentences are batched by a collate_fn with ``pad_sequence`` (tags padded
with -100), run through the GRU as a ``pack_padded_sequence(enforce_sorted=False)`` and
back with ``pad_packed_sequence``; the loss is CrossEntropyLoss(ignore_index=-100), and the
gradients are clipped with ``clip_grad_norm_``. Then a gradient saliency for one sentence:
a ``register_forward_hook`` on the embedding keeps its output with ``retain_grad()``, and
the gradient of one word's tag score gives each word's influence (checked against
``torch.autograd.grad``).

    python tests/pytorch_programs/tutorials/sequence_tagger.py
"""
import random

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader

torch.manual_seed(6)
rng = random.Random(6)

TAGS = ['DET', 'NOUN', 'VERB', 'ADJ']
PAD, vocab_size = 0, 30
determiners, nouns, verbs, adjectives = range(1, 6), range(6, 14), range(14, 20), range(20, 24)
ambiguous = range(24, 30)


def make_sentence():
    words, tags = [], []
    for _ in range(rng.randint(3, 12)):
        w = rng.randrange(1, vocab_size)
        if w in determiners:
            tag = 0
        elif w in nouns:
            tag = 1
        elif w in verbs:
            tag = 2
        elif w in adjectives:
            tag = 3
        else:
            tag = 1 if words and words[-1] in determiners else 2
        words.append(w)
        tags.append(tag)
    return torch.tensor(words), torch.tensor(tags)


sentences = [make_sentence() for _ in range(400)]
train_data, test_data = sentences[:320], sentences[320:]


def collate(batch):
    words = [w for w, _ in batch]
    lengths = torch.tensor([len(w) for w in words])
    tokens = pad_sequence(words, batch_first=True, padding_value=PAD)
    tags = pad_sequence([t for _, t in batch], batch_first=True, padding_value=-100)
    return tokens, lengths, tags


train_loader = DataLoader(train_data, batch_size=32, shuffle=True, collate_fn=collate)
test_loader = DataLoader(test_data, batch_size=80, collate_fn=collate)


class BiGRUTagger(nn.Module):
    def __init__(self, vocab_size, n_tags, emb_dim=16, hidden=24):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim, padding_idx=PAD)
        self.gru = nn.GRU(emb_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, n_tags)

    def forward(self, tokens, lengths):
        emb = self.embedding(tokens)
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        output, _ = self.gru(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=tokens.size(1))
        return self.out(output)


def evaluate(model, loader):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for tokens, lengths, tags in loader:
            logits = model(tokens, lengths)
            loss_sum += criterion(logits.reshape(-1, len(TAGS)), tags.reshape(-1)).item()
            mask = tags != -100
            correct += ((logits.argmax(dim=-1) == tags) & mask).sum().item()
            total += mask.sum().item()
    return loss_sum / len(loader), correct / total


model = BiGRUTagger(vocab_size, len(TAGS))
print(model)
criterion = nn.CrossEntropyLoss(ignore_index=-100)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(1, 7):
    model.train()
    total, norms = 0.0, []
    for tokens, lengths, tags in train_loader:
        optimizer.zero_grad()
        logits = model(tokens, lengths)
        loss = criterion(logits.reshape(-1, len(TAGS)), tags.reshape(-1))
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item())
        optimizer.step()
        total += loss.item()
    test_loss, test_acc = evaluate(model, test_loader)
    print(f'epoch {epoch} | train loss {total / len(train_loader):.4f} | max grad norm '
          f'{max(norms):.3f} | test loss {test_loss:.4f} | test accuracy {test_acc:.3f}')

captured = {}


def keep_embedding(module, inputs, output):
    output.retain_grad()
    captured['embedding'] = output


handle = model.embedding.register_forward_hook(keep_embedding)
model.eval()
words, tags = next((w, t) for w, t in test_data if (w[1:] >= ambiguous[0]).any())
position = 1 + (words[1:] >= ambiguous[0]).nonzero()[0, 0].item()
logits = model(words.unsqueeze(0), torch.tensor([len(words)]))
predicted = logits[0, position].argmax()
score = logits[0, position, predicted]
model.zero_grad()
score.backward(retain_graph=True)
handle.remove()
saliency = captured['embedding'].grad[0].norm(dim=1)
grad, = torch.autograd.grad(score, captured['embedding'])
print(f'sentence {words.tolist()}, tags {[TAGS[t] for t in tags.tolist()]}')
print(f'word {position} predicted {TAGS[predicted.item()]}; saliency '
      + ' '.join(f'{s:.3f}' for s in saliency.tolist()))
print('retain_grad matches autograd.grad:',
      torch.allclose(grad[0].norm(dim=1), saliency))
print(f'most salient word: {saliency.argmax().item()}')
