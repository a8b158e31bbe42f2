"""word2vec's skip-gram with negative sampling (Mikolov et al., 2013), written for the xpnn
tests, on a made-up corpus: 3000 words of sentences drawn from 4 topics, each topic with
its own 6 words, plus 4 function words that appear everywhere.

Each (centre, context) pair within a window of 2 is scored by the dot product of the
centre's input embedding and the context's output embedding (``bmm``); 5 negatives per
pair come from ``torch.multinomial`` over the unigram counts to the 3/4 power. The loss is
``-logsigmoid(positive) - sum logsigmoid(-negatives)``; Adam. At the
end, each topic's first word's nearest neighbours by cosine similarity are printed, and the
share of neighbours from the same topic.

    python tests/pytorch_programs/tutorials/skipgram.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(17)
rng = random.Random(17)

topics = [['cat', 'dog', 'horse', 'cow', 'sheep', 'goat'],
          ['red', 'green', 'blue', 'yellow', 'black', 'white'],
          ['one', 'two', 'three', 'four', 'five', 'six'],
          ['paris', 'rome', 'berlin', 'madrid', 'vienna', 'oslo']]
function_words = ['the', 'a', 'and', 'of']
vocab = function_words + [w for t in topics for w in t]
word_to_ix = {w: i for i, w in enumerate(vocab)}

corpus = []
while len(corpus) < 3000:
    topic = rng.choice(topics)
    sentence = [rng.choice(topic) if rng.random() < 0.7 else rng.choice(function_words)
                for _ in range(rng.randint(5, 9))]
    corpus += [word_to_ix[w] for w in sentence]
window = 2
pairs = [(corpus[i], corpus[j]) for i in range(len(corpus))
         for j in range(max(0, i - window), min(len(corpus), i + window + 1)) if j != i]
centres = torch.tensor([c for c, _ in pairs])
contexts = torch.tensor([o for _, o in pairs])
counts = torch.bincount(torch.tensor(corpus), minlength=len(vocab)).float()
noise = counts.pow(0.75)
noise = noise / noise.sum()
print('vocabulary:', len(vocab), 'corpus:', len(corpus), 'pairs:', len(pairs))


class SkipGram(nn.Module):
    def __init__(self, n_words, dim):
        super().__init__()
        self.in_embed = nn.Embedding(n_words, dim)
        self.out_embed = nn.Embedding(n_words, dim)
        nn.init.uniform_(self.in_embed.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.out_embed.weight)

    def forward(self, centre, context, negatives):
        v = self.in_embed(centre).unsqueeze(2)                 # (B, D, 1)
        u_pos = self.out_embed(context).unsqueeze(1)           # (B, 1, D)
        u_neg = self.out_embed(negatives)                      # (B, K, D)
        pos = torch.bmm(u_pos, v).squeeze()                    # (B,)
        neg = torch.bmm(u_neg, v).squeeze(2)                   # (B, K)
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(1)).mean()


model = SkipGram(len(vocab), 16)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
batch_size, n_negatives = 512, 5

for epoch in range(1, 6):
    order = torch.randperm(len(pairs))
    total, batches = 0.0, 0
    for i in range(0, len(pairs), batch_size):
        idx = order[i:i + batch_size]
        negatives = torch.multinomial(noise, len(idx) * n_negatives, replacement=True)
        loss = model(centres[idx], contexts[idx], negatives.view(len(idx), n_negatives))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    print('epoch {} | loss {:.4f}'.format(epoch, total / batches))

with torch.no_grad():
    emb = F.normalize(model.in_embed.weight, dim=1)
    similarity = emb @ emb.t()
    same_topic = 0
    for topic in topics:
        query = word_to_ix[topic[0]]
        values, neighbours = similarity[query].topk(4)
        words = [vocab[j] for j in neighbours.tolist()[1:]]
        same_topic += sum(w in topic for w in words)
        print('{:>6} -> {}'.format(topic[0], ', '.join(words)))
    print('neighbours from the same topic: {}/{}'.format(same_topic, 3 * len(topics)))
    print('cosine(cat, dog) {:.3f}'.format(F.cosine_similarity(
        model.in_embed.weight[word_to_ix['cat']], model.in_embed.weight[word_to_ix['dog']],
        dim=0).item()))
