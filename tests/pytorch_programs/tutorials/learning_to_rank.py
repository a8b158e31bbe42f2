"""Learning to rank with ListNet and a LambdaRank-style loss, written for the xpnn tests after
the usual listwise-ranking recipes (Cao et al., 2007; Burges, 2010), on made-up queries.

Each query holds between 4 and 12 documents with 6 features and a graded relevance 0-3 from a
hidden score with feature interactions; lists are padded to 12 with a boolean mask. A scorer
crosses each document's features with themselves by ``nn.Bilinear`` beside an MLP; padded
documents get ``masked_fill(~mask, float('-inf'))`` scores.

ListNet: the cross entropy between ``F.softmax`` of the relevances and ``F.log_softmax`` of
the scores over each list. LambdaRank: a pairwise logistic loss on every pair with different
relevances, weighted by how much swapping the two would change NDCG (ranks from a double
``argsort``, discounts by ``torch.log2``). Both fine-tune from the same initial weights, with an
auxiliary ``F.margin_ranking_loss`` over the upper-triangle pairs (``torch.triu``). NDCG@5 is
computed by ``topk`` of the scores and ``gather`` of the relevances, against the ideal order.

    python tests/pytorch_programs/tutorials/learning_to_rank.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(8)
rng = np.random.default_rng(8)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

L, d = 12, 6
w_hidden = rng.normal(0, 1, d)


def make_queries(count):
    x = np.zeros((count, L, d), np.float32)
    rel = np.zeros((count, L), np.int64)
    mask = np.zeros((count, L), bool)
    for q in range(count):
        n = rng.integers(4, L + 1)
        docs = rng.normal(0, 1, (n, d))
        score = docs @ w_hidden + 0.8 * docs[:, 0] * docs[:, 1] + rng.normal(0, 0.3, n)
        cuts = np.quantile(score, [0.4, 0.7, 0.9])
        x[q, :n], rel[q, :n], mask[q, :n] = docs, np.searchsorted(cuts, score), True
    return torch.tensor(x), torch.tensor(rel), torch.tensor(mask)


class Scorer(nn.Module):
    def __init__(self, d, hidden=16):
        super().__init__()
        self.cross = nn.Bilinear(d, d, hidden)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.ReLU())
        self.out = nn.Linear(2 * hidden, 1)

    def forward(self, x, mask):
        h = torch.cat([torch.tanh(self.cross(x, x)), self.mlp(x)], dim=-1)
        return self.out(h).squeeze(-1).masked_fill(~mask, float('-inf'))


def dcg_discounts(k, device):
    return 1.0 / torch.log2(torch.arange(k, device=device, dtype=torch.float32) + 2.0)


def ndcg_at_k(scores, rel, k=5):
    gains = 2.0 ** rel.float() - 1.0
    top = scores.topk(k, dim=1).indices
    dcg = (gains.gather(1, top) * dcg_discounts(k, scores.device)).sum(1)
    ideal = (gains.topk(k, dim=1).values * dcg_discounts(k, scores.device)).sum(1)
    return (dcg / ideal.clamp(min=1e-9)).mean()


def listnet_loss(scores, rel, mask):
    target = F.softmax(rel.float().masked_fill(~mask, float('-inf')), dim=1)
    log_p = F.log_softmax(scores, dim=1).masked_fill(~mask, 0.0)
    return -(target * log_p).sum(1).mean()


def lambdarank_loss(scores, rel, mask):
    gains = 2.0 ** rel.float() - 1.0
    order = scores.detach().argsort(dim=1, descending=True)
    ranks = order.argsort(dim=1)                              # position of each document
    discount = 1.0 / torch.log2(ranks.float() + 2.0)
    ideal = (gains.sort(dim=1, descending=True).values * dcg_discounts(L, scores.device)).sum(1)
    delta = ((gains[:, :, None] - gains[:, None, :]).abs()
             * (discount[:, :, None] - discount[:, None, :]).abs() / ideal[:, None, None])
    pairs = (rel[:, :, None] > rel[:, None, :]) & mask[:, :, None] & mask[:, None, :]
    safe = scores.masked_fill(~mask, 0.0)
    diff = safe[:, :, None] - safe[:, None, :]
    loss = F.softplus(-diff) * delta
    return loss[pairs].sum() / pairs.sum()


def pairwise_margin(scores, rel, mask):
    upper = torch.triu(torch.ones(L, L, dtype=torch.bool, device=scores.device), diagonal=1)
    pairs = upper & (rel[:, :, None] != rel[:, None, :]) & mask[:, :, None] & mask[:, None, :]
    q, i, j = pairs.nonzero(as_tuple=True)
    target = torch.sign(rel[q, i] - rel[q, j]).float()
    return F.margin_ranking_loss(scores[q, i], scores[q, j], target, margin=0.5)


x_train, rel_train, mask_train = make_queries(160)
x_test, rel_test, mask_test = (t.to(device) for t in make_queries(64))
print(f'queries {tuple(x_train.shape)}, documents per query {mask_train.sum(1).float().mean().item():.2f}, '
      f'relevance counts {torch.bincount(rel_train[mask_train]).tolist()}')
loader = DataLoader(TensorDataset(x_train, rel_train, mask_train), batch_size=16, shuffle=True)

model = Scorer(d).to(device)
with torch.no_grad():
    print(f'untrained test ndcg@5 {ndcg_at_k(model(x_test, mask_test), rel_test).item():.4f}')
initial = copy.deepcopy(model.state_dict())

for name, loss_fn in (('listnet', listnet_loss), ('lambdarank', lambdarank_loss)):
    model.load_state_dict(initial)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, 7):
        model.train()
        total, margin_total = 0.0, 0.0
        for xb, rb, mb in loader:
            xb, rb, mb = xb.to(device), rb.to(device), mb.to(device)
            scores = model(xb, mb)
            main = loss_fn(scores, rb, mb)
            margin = pairwise_margin(scores, rb, mb)
            optimizer.zero_grad()
            (main + 0.1 * margin).backward()
            optimizer.step()
            total += main.item()
            margin_total += margin.item()
        model.eval()
        with torch.no_grad():
            test_scores = model(x_test, mask_test)
            ndcg = ndcg_at_k(test_scores, rel_test).item()
            test_loss = loss_fn(test_scores, rel_test, mask_test).item()
        print(f'{name} epoch {epoch} | loss {total / len(loader):.4f} | margin '
              f'{margin_total / len(loader):.4f} | test loss {test_loss:.4f} | '
              f'test ndcg@5 {ndcg:.4f}')
