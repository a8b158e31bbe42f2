"""A BiLSTM-CRF tagger after PyTorch's "Advanced: Making Dynamic Decisions and the
Bi-LSTM CRF" tutorial, batched, written for the xpnn tests on made-up sentences.

Sentences of random lengths are drawn from a vocabulary of three word classes (plain words,
person-like and place-like words); a run of person-like words is tagged B-PER I-PER ...,
a run of place-like words B-LOC I-LOC ..., the rest O, so the BIO transitions matter. The
sentences are padded with 0 and embedded by ``nn.Embedding(padding_idx=0)``; the BiLSTM
reads them through ``nn.utils.rnn.pack_padded_sequence(enforce_sorted=False)`` and
``pad_packed_sequence(total_length=...)``. The CRF keeps start, end and transition scores:
its log-partition by the forward algorithm (``torch.logsumexp`` over the previous tag, kept
where the length mask ends by ``torch.where``), the gold path's score by ``gather``, and
Viterbi decoding by ``max(dim=1)`` values and indices, backtracked by ``gather``. Masks come
from the lengths (``arange < lengths[:, None]``); the token F1 counts entity tokens.

    python tests/pytorch_programs/tutorials/crf_ner.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(3)
rng = np.random.default_rng(3)

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
n_tags = len(TAGS)
vocab = 31            # 0 pad, 1..10 plain, 11..20 person-like, 21..30 place-like
max_len = 12


def make_sentences(count):
    words = np.zeros((count, max_len), dtype=np.int64)
    tags = np.zeros((count, max_len), dtype=np.int64)
    lengths = rng.integers(4, max_len + 1, count)
    for i, n in enumerate(lengths):
        t = 0
        while t < n:
            kind = rng.choice(3, p=[0.5, 0.25, 0.25])
            run = 1 if kind == 0 else int(rng.integers(1, 4))
            for j in range(min(run, n - t)):
                if kind == 0:
                    words[i, t] = rng.integers(1, 11)
                else:
                    words[i, t] = rng.integers(11, 21) if kind == 1 else rng.integers(21, 31)
                    tags[i, t] = (1 if kind == 1 else 3) + (j > 0)
                t += 1
    return (torch.from_numpy(words), torch.from_numpy(tags),
            torch.from_numpy(lengths.astype(np.int64)))


class CRF(nn.Module):
    def __init__(self, n_tags):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(n_tags))
        self.end = nn.Parameter(torch.zeros(n_tags))
        self.trans = nn.Parameter(0.1 * torch.randn(n_tags, n_tags))   # [from, to]

    def log_partition(self, emissions, mask):
        alpha = self.start + emissions[:, 0]                              # (B, K)
        for t in range(1, emissions.shape[1]):
            scores = alpha.unsqueeze(2) + self.trans + emissions[:, t].unsqueeze(1)
            nxt = torch.logsumexp(scores, dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def path_score(self, emissions, tags, mask, lengths):
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)         # (B, T)
        trans = self.trans[tags[:, :-1], tags[:, 1:]]                      # (B, T-1)
        score = self.start[tags[:, 0]] + emit[:, 0]
        score = score + (emit[:, 1:] * mask[:, 1:]).sum(1) + (trans * mask[:, 1:]).sum(1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        return score + self.end[last]

    def nll(self, emissions, tags, mask, lengths):
        return (self.log_partition(emissions, mask)
                - self.path_score(emissions, tags, mask, lengths)).mean()

    def viterbi(self, emissions, mask, lengths):
        score = self.start + emissions[:, 0]
        history = []
        for t in range(1, emissions.shape[1]):
            scores = score.unsqueeze(2) + self.trans + emissions[:, t].unsqueeze(1)
            best, idx = scores.max(dim=1)
            score = torch.where(mask[:, t].unsqueeze(1), best, score)
            history.append(idx)
        final = score + self.end
        best_score, best_last = final.max(dim=1)
        B, T = mask.shape
        path = torch.zeros(B, T, dtype=torch.long)
        cur = best_last
        for t in range(T - 1, -1, -1):
            cur = torch.where(lengths - 1 == t, best_last, cur)
            path[:, t] = torch.where(t < lengths, cur, torch.zeros_like(cur))
            if t > 0:
                prev = history[t - 1].gather(1, cur.unsqueeze(1)).squeeze(1)
                cur = torch.where(t < lengths, prev, cur)
        return best_score, path


class BiLSTMCRF(nn.Module):
    def __init__(self, emb=16, hidden=24):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * hidden, n_tags)
        self.crf = CRF(n_tags)

    def emissions(self, words, lengths):
        packed = pack_padded_sequence(self.embed(words), lengths, batch_first=True,
                                      enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True, total_length=max_len)
        assert torch.equal(out_lengths, lengths)
        return self.proj(out)

    def forward(self, words, lengths):
        return self.emissions(words, lengths)


def lengths_mask(lengths):
    return torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)


def token_f1(pred, gold, mask):
    p_ent = (pred > 0) & mask
    g_ent = (gold > 0) & mask
    tp = ((pred == gold) & p_ent & g_ent).sum().item()
    precision = tp / max(p_ent.sum().item(), 1)
    recall = tp / max(g_ent.sum().item(), 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


train_w, train_t, train_l = make_sentences(256)
test_w, test_t, test_l = make_sentences(128)
test_mask = lengths_mask(test_l)

model = BiLSTMCRF()
print("padding row zero:", bool((model.embed.weight[0] == 0).all()))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

batch = 32
for epoch in range(1, 7):
    model.train()
    perm = torch.from_numpy(rng.permutation(len(train_w)))
    total = 0.0
    for i in range(0, len(train_w), batch):
        idx = perm[i:i + batch]
        w, t, n = train_w[idx], train_t[idx], train_l[idx]
        loss = model.crf.nll(model(w, n), t, lengths_mask(n), n)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    model.eval()
    with torch.no_grad():
        em = model(test_w, test_l)
        test_nll = model.crf.nll(em, test_t, test_mask, test_l).item()
        best, pred = model.crf.viterbi(em, test_mask, test_l)
        gold_of_pred = model.crf.path_score(em, pred, test_mask, test_l)
        acc = ((pred == test_t) & test_mask).sum().item() / test_mask.sum().item()
        f1 = token_f1(pred, test_t, test_mask)
    print(f"epoch {epoch} | train nll {total / len(train_w):.4f} | test nll {test_nll:.4f} "
          f"| token acc {acc:.4f} | entity f1 {f1:.4f}")
    print(f"  viterbi score = path score: {torch.allclose(best, gold_of_pred, atol=1e-4)}; "
          f"viterbi <= log partition: {bool((best <= model.crf.log_partition(em, test_mask) + 1e-4).all())}")

print("padding row still zero:", bool((model.embed.weight[0] == 0).all()))
print("learned transition O -> I-PER", f"{model.crf.trans[0, 2].item():.3f}",
      "B-PER -> I-PER", f"{model.crf.trans[1, 2].item():.3f}")
print("first test sentence:", [TAGS[k] for k in pred[0, :test_l[0]].tolist()])
