"""Click-through-rate prediction by a Wide & Deep model (Cheng et al., 2016, "Wide & Deep
Learning for Recommender Systems"), written for the xpnn tests on made-up impressions.

Each impression has a user's weighted interest tags (a variable-length bag), an item id, the
user's age and the item's price; the click comes from a hidden logistic model (tag-item
affinity, the item's popularity, an age-by-price effect), about three in ten positive.
Numeric features are bucketed by ``torch.bucketize`` against fixed boundaries. The deep part
pools the tags by ``nn.EmbeddingBag(mode="sum", max_norm=2.0)`` over a flat id tensor with
``offsets`` and ``per_sample_weights`` (the rows read renormalised in place), looks the item
up in an ``nn.Embedding(sparse=True)`` and the buckets in small dense embeddings, and runs
an MLP with dropout; the wide part is a linear model over the buckets and their cross (an
``nn.EmbeddingBag`` of width 1, zero-initialised). The sparse item table is trained by
``torch.optim.SparseAdam`` (its gradient is a sparse tensor, checked by ``is_sparse``),
everything else by Adam; the loss is ``nn.BCEWithLogitsLoss(pos_weight=negatives /
positives)``. Evaluation prints the log loss and the ROC AUC computed from
``argsort`` ranks (the Mann-Whitney statistic).

    python tests/pytorch_programs/tutorials/wide_deep_ctr.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(6)
rng = np.random.default_rng(6)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_tags, n_items = 40, 120
age_edges = torch.tensor([25.0, 35.0, 45.0, 55.0])
price_edges = torch.tensor([5.0, 10.0, 20.0, 50.0, 100.0])
n_age, n_price = len(age_edges) + 1, len(price_edges) + 1
tag_vectors = rng.normal(0, 1, size=(n_tags, 4))
item_vectors = rng.normal(0, 1, size=(n_items, 4))
item_bias = rng.normal(0, 1, size=n_items)


def make_set(count):
    tags, weights, offsets = [], [], []
    ages = rng.uniform(18, 70, size=count)
    prices = np.exp(rng.normal(2.8, 1.0, size=count))
    items = rng.integers(0, n_items, size=count)
    score = np.zeros(count)
    for i in range(count):
        k = rng.integers(1, 6)
        t = rng.choice(n_tags, size=k, replace=False)
        w = rng.dirichlet(np.ones(k))
        offsets.append(len(tags))
        tags.extend(t.tolist())
        weights.extend(w.tolist())
        score[i] = 2 * (w[:, None] * tag_vectors[t] * item_vectors[items[i]]).sum()
    score += item_bias[items] + 1.5 * ((ages > 45) & (prices > 20)) - 1.8
    clicks = (rng.random(count) < 1 / (1 + np.exp(-2 * score))).astype(np.float32)
    return dict(tags=torch.tensor(tags), weights=torch.tensor(weights, dtype=torch.float32),
                offsets=torch.tensor(offsets), items=torch.from_numpy(items),
                age=torch.tensor(ages, dtype=torch.float32),
                price=torch.tensor(prices, dtype=torch.float32),
                clicks=torch.from_numpy(clicks))


def batch_of(data, idx):
    """A minibatch: the tag bags re-cut by their offsets into a flat tensor."""
    ends = torch.cat([data['offsets'][1:], torch.tensor([len(data['tags'])])])
    starts = data['offsets'][idx]
    lengths = ends[idx] - starts
    flat = torch.cat([torch.arange(s, s + n) for s, n in zip(starts.tolist(),
                                                               lengths.tolist())])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    return (data['tags'][flat].to(device), data['weights'][flat].to(device),
            offsets.to(device), data['items'][idx].to(device), data['age'][idx].to(device),
            data['price'][idx].to(device)), data['clicks'][idx].to(device)


train, test = make_set(2000), make_set(600)
positives = train['clicks'].sum().item()
print(f'train {len(train["clicks"])} impressions, {len(train["tags"])} tags, click rate '
      f'{positives / len(train["clicks"]):.3f}; age buckets '
      f'{torch.bucketize(train["age"], age_edges).bincount(minlength=n_age).tolist()}')


class WideAndDeep(nn.Module):
    def __init__(self, d=8, hidden=32):
        super().__init__()
        self.tags = nn.EmbeddingBag(n_tags, d, mode='sum', max_norm=2.0)
        self.item = nn.Embedding(n_items, d, sparse=True)
        self.age = nn.Embedding(n_age, 2)
        self.price = nn.Embedding(n_price, 2)
        self.mlp = nn.Sequential(nn.Linear(2 * d + 4, hidden), nn.ReLU(), nn.Dropout(0.1),
                                 nn.Linear(hidden, 1))
        self.wide = nn.EmbeddingBag(n_age + n_price + n_age * n_price, 1, mode='sum')
        self.tag_item = nn.Parameter(torch.zeros(1))
        nn.init.zeros_(self.wide.weight)

    def forward(self, tags, weights, offsets, items, age, price):
        age_b = torch.bucketize(age, age_edges.to(age.device))
        price_b = torch.bucketize(price, price_edges.to(price.device))
        tag_vec = self.tags(tags, offsets, per_sample_weights=weights)
        item_vec = self.item(items)
        deep = torch.cat([tag_vec, item_vec, self.age(age_b), self.price(price_b)], dim=1)
        cross = n_age + n_price + age_b * n_price + price_b
        wide_ids = torch.stack([age_b, n_age + price_b, cross], dim=1)
        wide = self.wide(wide_ids).squeeze(1)
        interaction = self.tag_item * (tag_vec * item_vec).sum(1)
        return self.mlp(deep).squeeze(1) + wide + interaction


def auc(scores, labels):
    ranks = torch.empty_like(scores)
    ranks[scores.argsort()] = torch.arange(1, len(scores) + 1, dtype=scores.dtype,
                                           device=scores.device)
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    return ((ranks * labels).sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def evaluate(model):
    model.eval()
    inputs, clicks = batch_of(test, torch.arange(len(test['clicks'])))
    with torch.no_grad():
        logits = model(*inputs)
        log_loss = F.binary_cross_entropy_with_logits(logits, clicks).item()
    return log_loss, auc(logits, clicks).item()


model = WideAndDeep().to(device)
sparse_params = list(model.item.parameters())
dense_params = [p for n, p in model.named_parameters() if not n.startswith('item.')]
sparse_opt = torch.optim.SparseAdam(sparse_params, lr=0.01)
dense_opt = torch.optim.Adam(dense_params, lr=0.01)
pos_weight = torch.tensor([(len(train['clicks']) - positives) / positives], device=device)
criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
log_loss, area = evaluate(model)
print(f'untrained | test log loss {log_loss:.4f} | auc {area:.4f} | largest tag row norm '
      f'{model.tags.weight.norm(dim=1).max().item():.4f}')
batch_size = 128
for epoch in range(1, 7):
    model.train()
    order = torch.from_numpy(rng.permutation(len(train['clicks'])))
    total, steps = 0.0, 0
    for i in range(0, len(order), batch_size):
        inputs, clicks = batch_of(train, order[i:i + batch_size])
        loss = criterion(model(*inputs), clicks)
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        loss.backward()
        if epoch == 1 and i == 0:
            grad = model.item.weight.grad
            print(f'item grad sparse: {grad.is_sparse}, rows touched '
                  f'{grad.coalesce().indices().size(1)}, dense tag grad: '
                  f'{not model.tags.weight.grad.is_sparse}')
        sparse_opt.step()
        dense_opt.step()
        total += loss.item()
        steps += 1
    log_loss, area = evaluate(model)
    print(f'epoch {epoch} | train loss {total / steps:.4f} | test log loss {log_loss:.4f} | '
          f'auc {area:.4f}')
