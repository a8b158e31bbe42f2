"""Metric learning for retrieval with batch-hard triplets, written for the xpnn tests after
"In Defense of the Triplet Loss for Person Re-Identification" (Hermans et al., 2017), on
made-up 20-d descriptors of 18 identities: 12 seen in training, 6 held out for retrieval.

An MLP embeds a descriptor onto the unit sphere (``F.normalize``). In each batch the pairwise
distances come from ``torch.cdist``; same-identity masks from a broadcast ``==``; the hardest
positive of each anchor is the farthest same-identity point (the others ``masked_fill``'d with
``float("-inf")``) and the hardest negative the closest other one. The loss is
``nn.TripletMarginLoss`` on (anchor, hardest positive, hardest negative) plus
``nn.MarginRankingLoss`` asking the anchor's cosine similarity to its positive to beat the one
to its negative by a margin. Retrieval on the held-out identities: each query's
cosine-similarity row against a gallery, ``topk`` for recall@1 and recall@5, with the
gallery's identity counts from ``torch.unique(return_counts=True)``.

    python tests/pytorch_programs/tutorials/retrieval_triplet.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(8)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

identities, dim = 18, 20
prototypes = torch.randn(identities, dim)
mixing = torch.randn(dim, dim) / dim ** 0.5


def make_samples(ids, per_id):
    labels = torch.tensor(ids).repeat_interleave(per_id)
    x = prototypes[labels] + 0.6 * torch.randn(len(labels), dim)
    return torch.tanh(x @ mixing), labels


train_x, train_y = make_samples(list(range(12)), 30)
query_x, query_y = make_samples(list(range(12, 18)), 5)
gallery_x, gallery_y = make_samples(list(range(12, 18)), 10)
ids, counts = torch.unique(gallery_y, return_counts=True)
print(f'gallery identities {ids.tolist()} with counts {counts.tolist()}')
train_ids, train_counts = torch.unique(train_y, return_counts=True)
print(f'{train_ids.numel()} training identities, {train_counts.min().item()} to '
      f'{train_counts.max().item()} samples each')

loader = DataLoader(TensorDataset(train_x, train_y), batch_size=60, shuffle=True)


class Embedder(nn.Module):
    def __init__(self, dim, hidden=64, out=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden),
                                 nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, x):
        return F.normalize(self.net(x), dim=1)


def batch_hard(emb, labels):
    dist = torch.cdist(emb, emb)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos_dist = dist.masked_fill(~same | eye, float('-inf'))
    neg_dist = dist.masked_fill(same, float('inf'))
    hardest_pos, pos_idx = pos_dist.max(dim=1)
    hardest_neg, neg_idx = neg_dist.min(dim=1)
    valid = torch.isfinite(hardest_pos)
    return pos_idx[valid], neg_idx[valid], valid, (hardest_neg - hardest_pos)[valid]


def recall_at(model, ks=(1, 5)):
    model.eval()
    with torch.no_grad():
        q = model(query_x.to(device))
        g = model(gallery_x.to(device))
        sim = q @ g.T
        top = sim.topk(max(ks), dim=1).indices
        hits = gallery_y.to(device)[top] == query_y.to(device)[:, None]
    return [hits[:, :k].any(dim=1).float().mean().item() for k in ks]


model = Embedder(dim).to(device)
triplet_loss = nn.TripletMarginLoss(margin=0.3)
ranking_loss = nn.MarginRankingLoss(margin=0.1)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

r1, r5 = recall_at(model)
print(f'before training | recall@1 {r1:.3f} | recall@5 {r5:.3f}')
for epoch in range(1, 9):
    model.train()
    total_t, total_r, gaps, steps = 0.0, 0.0, 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        emb = model(x)
        pos_idx, neg_idx, valid, gap = batch_hard(emb, y)
        anchor, positive, negative = emb[valid], emb[pos_idx], emb[neg_idx]
        loss_t = triplet_loss(anchor, positive, negative)
        sim_pos = F.cosine_similarity(anchor, positive)
        sim_neg = F.cosine_similarity(anchor, negative)
        loss_r = ranking_loss(sim_pos, sim_neg, torch.ones_like(sim_pos))
        loss = loss_t + 0.5 * loss_r
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_t += loss_t.item()
        total_r += loss_r.item()
        gaps += gap.mean().item()
        steps += 1
    r1, r5 = recall_at(model)
    print(f'epoch {epoch} | triplet loss {total_t / steps:.4f} | ranking loss '
          f'{total_r / steps:.4f} | hard gap {gaps / steps:.4f} | recall@1 {r1:.3f} '
          f'| recall@5 {r5:.3f}')

model.eval()
with torch.no_grad():
    q, g = model(query_x.to(device)), model(gallery_x.to(device))
    sim = q @ g.T
    best, where = sim.max(dim=1)
    same = query_y[:, None] == gallery_y[None, :]
    print(f'mean similarity to same identity {sim[same].mean().item():.3f}, '
          f'to others {sim[~same].mean().item():.3f}')
    print(f'first query: identity {query_y[0].item()}, best match identity '
          f'{gallery_y[where[0]].item()} at similarity {best[0].item():.3f}')
    found, per_id = torch.unique(gallery_y[sim.topk(5, dim=1).indices[:, 0]],
                                 return_counts=True)
    print(f'top-1 matches per identity {dict(zip(found.tolist(), per_id.tolist()))}')
