"""A sequence tagger after Lample et al. (2016, "Neural Architectures for Named Entity
Recognition") and Ma and Hovy (2016, "End-to-end Sequence Labeling via Bi-directional
LSTM-CNNs-CRF"), without the CRF, written for the xpnn tests on made-up sentences.

Words are random strings over a small alphabet; a word's tag follows from its suffix, its
first letter and the tag of the word before it, so both the characters and the context
matter. Each word is read by a character CNN (an ``nn.Embedding(padding_idx=0)`` over
characters, ``nn.Conv1d``, a max over time) whose output is concatenated to a word
embedding (``padding_idx=0``); a 2-layer bidirectional ``nn.LSTM`` with ``proj_size`` and
dropout runs over ``pack_padded_sequence(enforce_sorted=False)`` and is padded back by
``pad_packed_sequence(total_length=...)``. Batches are built by ``pad_sequence(
batch_first=True, padding_value=...)`` (tags padded with -100), the loss is a token-level
``F.cross_entropy(ignore_index=-100)`` and accuracy counts real tokens only. A variant
with a 2-layer bidirectional ``nn.GRU`` is trained after it.

    python tests/pytorch_programs/tutorials/bilstm_proj_tagger.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(7)
rng = np.random.default_rng(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
ALPHABET = "abcdefghijklmnop"
N_TAGS, MAX_LEN = 4, 14

# a lexicon of 120 made-up words; characters are 1..16, 0 pads
lexicon = sorted({"".join(rng.choice(list(ALPHABET), rng.integers(2, 7)))
                  for _ in range(160)})[:120]
word_ids = {w: i + 1 for i, w in enumerate(lexicon)}


def word_tag(word, previous):
    if word.endswith(("a", "b", "c")):
        return 1
    if word[0] in "mnop":
        return 2
    return 3 if previous == 1 else 0


def make_sentences(count):
    sentences = []
    for _ in range(count):
        words = [lexicon[i] for i in rng.integers(0, len(lexicon), rng.integers(3, MAX_LEN))]
        tags, previous = [], 0
        for w in words:
            previous = word_tag(w, previous)
            tags.append(previous)
        sentences.append((words, tags))
    return sentences


def batchify(sentences):
    words = [torch.tensor([word_ids[w] for w in s]) for s, _ in sentences]
    tags = [torch.tensor(t) for _, t in sentences]
    lengths = torch.tensor([len(s) for s, _ in sentences])
    width = max(len(w) for s, _ in sentences for w in s)
    chars = torch.zeros(len(sentences), int(lengths.max()), width, dtype=torch.long)
    for i, (s, _) in enumerate(sentences):
        for j, w in enumerate(s):
            chars[i, j, :len(w)] = torch.tensor([ALPHABET.index(c) + 1 for c in w])
    return (pad_sequence(words, batch_first=True, padding_value=0), chars, lengths,
            pad_sequence(tags, batch_first=True, padding_value=-100))


class CharCNN(nn.Module):
    def __init__(self, n_chars, dim=12, channels=16):
        super().__init__()
        self.embed = nn.Embedding(n_chars, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, channels, kernel_size=3, padding=1)

    def forward(self, chars):                       # (B, T, W) -> (B, T, channels)
        B, T, W = chars.shape
        x = self.embed(chars.view(B * T, W)).transpose(1, 2)
        x = F.relu(self.conv(x)).max(dim=2).values
        return x.view(B, T, -1)


class Tagger(nn.Module):
    def __init__(self, n_words, n_chars, cell="lstm", dim=24, hidden=32, proj=16):
        super().__init__()
        self.chars = CharCNN(n_chars)
        self.words = nn.Embedding(n_words, dim, padding_idx=0)
        if cell == "lstm":
            self.rnn = nn.LSTM(dim + 16, hidden, num_layers=2, bidirectional=True,
                               proj_size=proj, dropout=0.2, batch_first=True)
            out = 2 * proj
        else:
            self.rnn = nn.GRU(dim + 16, hidden, num_layers=2, bidirectional=True,
                              dropout=0.2, batch_first=True)
            out = 2 * hidden
        self.head = nn.Linear(out, N_TAGS)

    def forward(self, words, chars, lengths):
        x = torch.cat([self.words(words), self.chars(chars)], dim=-1)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=words.shape[1])
        return self.head(out)


train = make_sentences(256)
test = batchify(make_sentences(128))
print(f"{len(lexicon)} words | {len(train)} training sentences | test batch "
      f"{tuple(test[0].shape)}, chars {tuple(test[1].shape)}")


def evaluate(model):
    model.eval()
    with torch.no_grad():
        words, chars, lengths, tags = test
        logits = model(words, chars, lengths)
        loss = F.cross_entropy(logits.reshape(-1, N_TAGS), tags.reshape(-1), ignore_index=-100)
        real = tags != -100
        correct = ((logits.argmax(-1) == tags) & real).sum()
    model.train()
    return loss.item(), correct.item() / real.sum().item()


def fit(name, model, epochs=5, batch=32):
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss, accuracy = evaluate(model)
    print(f"{name} untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}")
    for epoch in range(1, epochs + 1):
        total = 0.0
        for start in range(0, len(train), batch):
            words, chars, lengths, tags = batchify(train[start:start + batch])
            logits = model(words, chars, lengths)
            loss = F.cross_entropy(logits.reshape(-1, N_TAGS), tags.reshape(-1),
                                   ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            total += loss.item()
        loss, accuracy = evaluate(model)
        print(f"{name} epoch {epoch} | train loss {total / (len(train) // batch):.4f} | "
              f"test loss {loss:.4f} | accuracy {accuracy:.3f}")


lstm_tagger = Tagger(len(lexicon) + 1, len(ALPHABET) + 1, "lstm").to(device)
print("lstm weights of layer 0:", [tuple(p.shape) for n, p in lstm_tagger.rnn.named_parameters()
                                   if n.endswith("_l0")])
fit("lstm", lstm_tagger)
gru_tagger = Tagger(len(lexicon) + 1, len(ALPHABET) + 1, "gru").to(device)
fit("gru", gru_tagger)
