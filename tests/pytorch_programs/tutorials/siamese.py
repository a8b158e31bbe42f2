"""Metric learning with batch-hard triplets, written for the xpnn tests: 8 made-up classes
of 20-feature points (a random centre each, with noise), of which the embedding net sees
six in training; recall@1 is measured on all eight, the two unseen ones included.

An MLP maps each point to a unit-norm 8-dim embedding. In each batch ``torch.cdist`` gives
all pairwise distances; the hardest positive and the hardest negative of every anchor are
mined with ``masked_fill`` and ``max``/``min`` over a dimension, and fed to
``nn.TripletMarginLoss``; a ``nn.CosineEmbeddingLoss`` over each point and its neighbour in
the batch is added. ``nn.MarginRankingLoss`` of the mined distances and a cosine
``nn.TripletMarginWithDistanceLoss`` are reported; the test mAP comes from ``argsort``
and ``cumsum``, and
recall@1 comes from ``topk(largest=False)`` over the distances with the diagonal filled
with infinity.

    python tests/pytorch_programs/tutorials/siamese.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(8)
rng = random.Random(8)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, seen, n_features, per_class = 8, 6, 20, 60
centres = 1.2 * torch.randn(n_classes, n_features)
labels = torch.tensor([c for c in range(n_classes) for _ in range(per_class)])
points = centres[labels] + 1.5 * torch.randn(len(labels), n_features)
order = list(range(len(labels)))
rng.shuffle(order)
order = torch.tensor(order)
points, labels = points[order], labels[order]
held_out = torch.zeros(len(labels), dtype=torch.bool)
held_out[::4] = True
train = (~held_out) & (labels < seen)
print(f'train {train.sum().item()} points of {seen} classes, test {held_out.sum().item()} '
      f'points of {n_classes}')

loader = DataLoader(TensorDataset(points[train], labels[train]), batch_size=64, shuffle=True,
                    drop_last=True)
test_points, test_labels = points[held_out].to(device), labels[held_out].to(device)


class EmbeddingNet(nn.Module):
    def __init__(self, n_in, n_out=8, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x):
        return F.normalize(self.out(self.body(x)), p=2, dim=1)


def mine_batch_hard(emb, labels):
    dist = torch.cdist(emb, emb)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    pos_dist, pos_idx = dist.masked_fill(~same, float('-inf')).max(dim=1)
    neg_dist, neg_idx = dist.masked_fill(same, float('inf')).min(dim=1)
    return pos_dist, pos_idx, neg_dist, neg_idx


def mean_average_precision(emb, labels):
    sim = emb @ emb.T
    sim.fill_diagonal_(-2.0)
    order = sim.argsort(dim=1, descending=True)[:, :-1]
    relevant = (labels[order] == labels.unsqueeze(1)).float()
    precision = relevant.cumsum(dim=1) / torch.arange(1, relevant.size(1) + 1)
    ap = (precision * relevant).sum(1) / relevant.sum(1).clamp(min=1)
    return ap.mean().item()


def recall_at_1(emb, labels):
    dist = torch.cdist(emb, emb)
    dist.fill_diagonal_(float('inf'))
    nearest = dist.topk(1, dim=1, largest=False).indices.squeeze(1)
    hits = labels[nearest] == labels
    unseen = labels >= seen
    return hits.float().mean().item(), hits[unseen].float().mean().item()


model = EmbeddingNet(n_features).to(device)
triplet = nn.TripletMarginLoss(margin=0.3, p=2)
cosine = nn.CosineEmbeddingLoss(margin=0.2)
ranking = nn.MarginRankingLoss(margin=0.1)
cosine_triplet = nn.TripletMarginWithDistanceLoss(
    distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.2)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

model.eval()
with torch.no_grad():
    r_all, r_unseen = recall_at_1(model(test_points), test_labels)
print(f'before training: recall@1 {r_all:.3f} (unseen classes {r_unseen:.3f})')

for epoch in range(1, 9):
    model.train()
    totals = torch.zeros(4)
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        emb = model(xb)
        pos_dist, pos_idx, neg_dist, neg_idx = mine_batch_hard(emb, yb)
        loss_tri = triplet(emb, emb[pos_idx], emb[neg_idx])
        target = torch.where(yb == yb.roll(1, 0), 1.0, -1.0)
        loss_cos = cosine(emb, emb.roll(1, 0), target)
        loss = loss_tri + 0.5 * loss_cos
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            rank = ranking(neg_dist, pos_dist, torch.ones_like(pos_dist))
            cos_tri = cosine_triplet(emb, emb[pos_idx], emb[neg_idx])
        totals += torch.stack([loss_tri.detach(), loss_cos.detach(), rank, cos_tri]).cpu()
    totals /= len(loader)
    model.eval()
    with torch.no_grad():
        r_all, r_unseen = recall_at_1(model(test_points), test_labels)
    print(f'epoch {epoch} | triplet loss {totals[0].item():.4f} | cosine loss '
          f'{totals[1].item():.4f} | ranking loss {totals[2].item():.4f} | cosine triplet '
          f'{totals[3].item():.4f} | recall@1 '
          f'{r_all:.3f} (unseen classes {r_unseen:.3f})')

with torch.no_grad():
    emb = model(test_points)
    pos_dist, _, neg_dist, _ = mine_batch_hard(emb, test_labels)
print(f'test mAP {mean_average_precision(emb, test_labels):.4f}, pairwise distance of the '
      f'first two {F.pairwise_distance(emb[:1], emb[1:2]).item():.4f}')
print(f'test anchors whose hardest negative is nearer than their hardest positive: '
      f'{(neg_dist < pos_dist).sum().item()} of {len(emb)}')
