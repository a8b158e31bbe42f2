"""fastText-style text classification (Joulin et al., 2017, "Bag of Tricks for Efficient
Text Classification"; Bojanowski et al., 2017, "Enriching Word Vectors with Subword
Information"), written for the xpnn tests on made-up sentences.

Each sentence becomes a bag of hashed ids: its words and the character 3-grams of
"<word>", hashed by FNV-1a into a fixed number of buckets. The bags of a batch are laid
out flat with offsets (``include_last_offset=True``: one offset past the last bag) and
``per_sample_weights`` that give word ids weight 1 and n-gram ids a smaller one, into an
``nn.EmbeddingBag(mode="sum", sparse=True)``; a Linear layer classifies the bag. The
sparse table is trained by ``torch.optim.SparseAdam``, the Linear layer by ``Adam``; loss
and accuracy are printed per epoch. The trained table is then read by a ``mode="max"``
bag (``EmbeddingBag.from_pretrained``) under a new zero-initialised head, and a
``padding_idx`` bag over a padded 2-D batch is checked against the offsets layout.

    python tests/pytorch_programs/tutorials/fasttext_embeddingbag_sparse.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

torch.manual_seed(11)
rng = np.random.default_rng(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
BUCKETS, DIM, N_CLASSES, NGRAM_WEIGHT = 2003, 16, 3, 0.4

syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "du", "ga", "zi"]
filler = ["".join(rng.choice(syllables, 2)) for _ in range(60)]
# each class has its own stems; a word is a stem plus a random ending
stems = [["".join(rng.choice(syllables, 2)) for _ in range(6)] for _ in range(N_CLASSES)]
endings = ["", "s", "er", "ing", "ed"]


def fnv1a(text):
    h = 2166136261
    for byte in text.encode():
        h = ((h ^ byte) * 16777619) % 2 ** 32
    return h


def token_ids(sentence):
    """(ids, weights): the word ids, then the 3-gram ids of each word; 0 is never used."""
    ids, weights = [], []
    for word in sentence.split():
        ids.append(1 + fnv1a(word) % (BUCKETS - 1))
        weights.append(1.0)
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            ids.append(1 + fnv1a(padded[i:i + 3]) % (BUCKETS - 1))
            weights.append(NGRAM_WEIGHT)
    return ids, weights


def make_sentences(count):
    data = []
    for _ in range(count):
        label = int(rng.integers(N_CLASSES))
        words = list(rng.choice(filler, rng.integers(4, 9)))
        for _ in range(rng.integers(1, 3)):
            words.insert(int(rng.integers(len(words) + 1)),
                         rng.choice(stems[label]) + rng.choice(endings))
        data.append((" ".join(words), label))
    return data


hashed = {}


def collate(batch):
    ids, weights, offsets = [], [], [0]
    for sentence, _ in batch:
        if sentence not in hashed:
            hashed[sentence] = token_ids(sentence)
        i, w = hashed[sentence]
        ids += i
        weights += w
        offsets.append(offsets[-1] + len(i))
    return (torch.tensor(ids), torch.tensor(offsets), torch.tensor(weights),
            torch.tensor([label for _, label in batch]))


class FastText(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(BUCKETS, DIM, mode="sum", sparse=True,
                                   include_last_offset=True)
        self.fc = nn.Linear(DIM, N_CLASSES)

    def forward(self, ids, offsets, weights):
        return self.fc(self.bag(ids, offsets, per_sample_weights=weights))


train_set, test_set = make_sentences(600), make_sentences(200)
print(f"example: {train_set[0][0]!r} -> class {train_set[0][1]} | "
      f"{len(token_ids(train_set[0][0])[0])} ids")
train_loader = DataLoader(train_set, batch_size=32, shuffle=True, collate_fn=collate)
test_batch = collate(test_set)

model = FastText().to(device)
sparse_opt = torch.optim.SparseAdam(list(model.bag.parameters()), lr=0.05)
dense_opt = torch.optim.Adam(model.fc.parameters(), lr=0.01)


def evaluate(net):
    ids, offsets, weights, labels = test_batch
    with torch.no_grad():
        logits = net(ids, offsets, weights)
        return (F.cross_entropy(logits, labels).item(),
                (logits.argmax(1) == labels).float().mean().item())


loss, accuracy = evaluate(model)
print(f"untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}")
for epoch in range(1, 7):
    total, correct = 0.0, 0
    for ids, offsets, weights, labels in train_loader:
        logits = model(ids, offsets, weights)
        loss = F.cross_entropy(logits, labels)
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        loss.backward()
        sparse_opt.step()
        dense_opt.step()
        total += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
    test_loss, test_accuracy = evaluate(model)
    print(f"epoch {epoch} | train loss {total / len(train_set):.4f} | train accuracy "
          f"{correct / len(train_set):.3f} | test loss {test_loss:.4f} | accuracy "
          f"{test_accuracy:.3f}")
print(f"embedding gradient is sparse: {model.bag.weight.grad.is_sparse}")

# the trained table under a max bag and a fresh head (no per-sample weights with "max")
max_bag = nn.EmbeddingBag.from_pretrained(model.bag.weight.detach(), mode="max",
                                          include_last_offset=True)
head = nn.Linear(DIM, N_CLASSES)
nn.init.zeros_(head.weight)
nn.init.zeros_(head.bias)
head_opt = torch.optim.Adam(head.parameters(), lr=0.05)
for epoch in range(1, 4):
    for ids, offsets, _, labels in train_loader:
        loss = F.cross_entropy(head(max_bag(ids, offsets)), labels)
        head_opt.zero_grad()
        loss.backward()
        head_opt.step()
    ids, offsets, _, labels = test_batch
    with torch.no_grad():
        logits = head(max_bag(ids, offsets))
    print(f"max bag epoch {epoch} | last batch loss {loss.item():.4f} | test accuracy "
          f"{(logits.argmax(1) == labels).float().mean().item():.3f}")

# padded 2-D bags with padding_idx=0 equal the offsets layout
padded_bag = nn.EmbeddingBag.from_pretrained(model.bag.weight.detach(), mode="sum",
                                             padding_idx=0)
sentences = [s for s, _ in test_set[:5]]
rows = [token_ids(s)[0] for s in sentences]
width = max(len(r) for r in rows)
padded = torch.tensor([r + [0] * (width - len(r)) for r in rows])
flat = torch.tensor([i for r in rows for i in r])
offsets = torch.tensor([0] + list(np.cumsum([len(r) for r in rows])))
sums = F.embedding_bag(flat, model.bag.weight.detach(), offsets, mode="sum",
                       include_last_offset=True)
print(f"padding_idx bag over a padded batch equals the offsets bag: "
      f"{torch.allclose(padded_bag(padded), sums, atol=1e-5)}")
