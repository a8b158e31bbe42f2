"""A LightGCN recommender (He et al., 2020), written for the xpnn tests after the paper's
model, on made-up implicit feedback: 80 users and 120 items in 4 taste groups, each user
having clicked 14 items drawn by ``torch.randint``, most of them from its own group; 3 of
each user's clicks are held out for the test.

User and item ``nn.Embedding`` tables are propagated over the normalised bipartite graph
D^-1/2 A D^-1/2 (a (users + items) square ``torch.sparse_coo_tensor``, degrees by
``torch.sparse.sum``) by K = 3 layers of ``torch.sparse.mm`` without weights or
nonlinearities, and the final embeddings are the mean of the layers
(``torch.stack(...).mean(0)``). Training samples (user, positive, negative) triples, the
negatives by ``torch.randint`` redrawn while they hit a clicked item, under the BPR loss
``-F.logsigmoid(pos - neg)`` plus an L2 penalty on the batch's layer-0 embeddings. Recall@10
by ``torch.topk`` over scores whose training clicks are masked out by a dense boolean mask.

    python tests/pytorch_programs/tutorials/lightgcn.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)

n_users, n_items, n_groups = 80, 120, 4
clicks_per_user, held_out, k = 14, 3, 10
user_group = torch.arange(n_users) % n_groups
item_group = torch.arange(n_items) % n_groups

# each user's clicks: 11 items of its own group and 3 anywhere, without repeats
train_pairs, test_pairs = [], []
for u in range(n_users):
    own = torch.nonzero(item_group == user_group[u]).squeeze(1)
    chosen = []
    while len(chosen) < clicks_per_user:
        if len(chosen) < clicks_per_user - 3:
            item = own[torch.randint(0, own.numel(), (1,))].item()
        else:
            item = torch.randint(0, n_items, (1,)).item()
        if item not in chosen:
            chosen.append(item)
    test_pairs += [(u, i) for i in chosen[:held_out]]
    train_pairs += [(u, i) for i in chosen[held_out:]]
train_pairs = torch.tensor(train_pairs)
test_pairs = torch.tensor(test_pairs)

train_mask = torch.zeros(n_users, n_items, dtype=torch.bool)
train_mask[train_pairs[:, 0], train_pairs[:, 1]] = True
test_mask = torch.zeros(n_users, n_items, dtype=torch.bool)
test_mask[test_pairs[:, 0], test_pairs[:, 1]] = True


def bipartite_adjacency(pairs, n_users, n_items):
    """D^-1/2 A D^-1/2 of the user-item graph, users first then items."""
    users, items = pairs[:, 0], pairs[:, 1] + n_users
    index = torch.cat([torch.stack([users, items]), torch.stack([items, users])], dim=1)
    n = n_users + n_items
    adj = torch.sparse_coo_tensor(index, torch.ones(index.size(1)), (n, n)).coalesce()
    deg = torch.sparse.sum(adj, dim=1).to_dense()
    d_inv_sqrt = deg.pow(-0.5)
    d_inv_sqrt[torch.isinf(d_inv_sqrt)] = 0.0
    row, col = adj.indices()
    values = d_inv_sqrt[row] * adj.values() * d_inv_sqrt[col]
    return torch.sparse_coo_tensor(adj.indices(), values, adj.shape).coalesce()


adj = bipartite_adjacency(train_pairs, n_users, n_items)
print(f'users {n_users}, items {n_items}, train clicks {train_pairs.size(0)}, test clicks '
      f'{test_pairs.size(0)}, adjacency {tuple(adj.shape)} with {adj._nnz()} entries, '
      f'density {adj._nnz() / adj.shape[0] ** 2:.4f}')


class LightGCN(nn.Module):
    def __init__(self, n_users, n_items, dim, n_layers):
        super().__init__()
        self.n_users, self.n_items, self.n_layers = n_users, n_items, n_layers
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.normal_(self.item_emb.weight, std=0.1)

    def forward(self, adj):
        emb = torch.cat([self.user_emb.weight, self.item_emb.weight], dim=0)
        layers = [emb]
        for _ in range(self.n_layers):
            emb = torch.sparse.mm(adj, emb)
            layers.append(emb)
        final = torch.stack(layers).mean(0)
        users, items = torch.split(final, [self.n_users, self.n_items])
        return users, items


def sample_triples(batch_size):
    pick = torch.randint(0, train_pairs.size(0), (batch_size,))
    users, pos = train_pairs[pick, 0], train_pairs[pick, 1]
    neg = torch.randint(0, n_items, (batch_size,))
    clash = train_mask[users, neg]
    while clash.any():
        neg[clash] = torch.randint(0, n_items, (int(clash.sum()),))
        clash = train_mask[users, neg]
    return users, pos, neg


def recall_at_k(model, k):
    with torch.no_grad():
        users, items = model(adj)
        scores = users @ items.t()
        scores = scores.masked_fill(train_mask, float('-inf'))
        top = torch.topk(scores, k, dim=1).indices
        hits = test_mask.gather(1, top).sum(dim=1).float()
        return (hits / test_mask.sum(dim=1).float()).mean().item()


model = LightGCN(n_users, n_items, dim=16, n_layers=3)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
reg, batch_size, steps = 1e-4, 256, 8

print(f'untrained | recall@{k} {recall_at_k(model, k):.4f}')
for epoch in range(1, 13):
    model.train()
    total = 0.0
    for _ in range(steps):
        users, pos, neg = sample_triples(batch_size)
        user_final, item_final = model(adj)
        pos_scores = (user_final[users] * item_final[pos]).sum(dim=1)
        neg_scores = (user_final[users] * item_final[neg]).sum(dim=1)
        bpr = -F.logsigmoid(pos_scores - neg_scores).mean()
        l2 = (model.user_emb(users).pow(2).sum() + model.item_emb(pos).pow(2).sum()
              + model.item_emb(neg).pow(2).sum()) / (2 * batch_size)
        loss = bpr + reg * l2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += bpr.item()
    if epoch % 3 == 0:
        print(f'epoch {epoch:2d} | bpr loss {total / steps:.4f} | '
              f'recall@{k} {recall_at_k(model, k):.4f}')

# how the model ranks each user's own taste group against the others
with torch.no_grad():
    users, items = model(adj)
    scores = users @ items.t()
    same = (user_group.unsqueeze(1) == item_group.unsqueeze(0))
    print(f'mean score own group {scores[same].mean().item():.3f}, other groups '
          f'{scores[~same].mean().item():.3f}')
