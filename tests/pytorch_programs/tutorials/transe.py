"""Knowledge-graph embeddings by TransE (Bordes et al., 2013), written small for the xpnn
tests after the paper's training loop, on a made-up graph: 64 entities, the cells of a hidden
8x8 grid, and 6 relations, each a move on the grid (right, left, up, down, two right, a
diagonal) where it stays on the grid; the true triples (head, relation, tail) are split into
training and test triples.

Entities and relations are ``nn.Embedding`` rows; a triple scores by the distance
||h + r - t||. Each step the entity rows are put back on the unit sphere under
``torch.no_grad`` (``F.normalize`` written through ``weight.data.copy_``), a corrupted copy
of each triple replaces its head or its tail by ``torch.randint``, and
``nn.MarginRankingLoss`` asks the true triple to score a margin better than the corrupted
one. Filtered mean rank and hits@10 of the test triples' tails (the other true tails masked
out) are computed by ``argsort`` and comparisons, before and after training.

    python tests/pytorch_programs/tutorials/transe.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

side = 8
n_entities = side * side
moves = torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [2, 0], [1, 1]])
n_relations = len(moves)
cells = torch.stack([torch.arange(n_entities) % side, torch.arange(n_entities) // side], 1)
heads = torch.arange(n_entities).repeat(n_relations)
relations = torch.arange(n_relations).repeat_interleave(n_entities)
moved = cells[heads] + moves[relations]
on_grid = ((moved >= 0) & (moved < side)).all(dim=1)
tails = moved[:, 0] + side * moved[:, 1]
triples = torch.stack([heads, relations, tails], dim=1)[on_grid]
order = torch.randperm(len(triples))
n_test = len(triples) // 5
train_triples, test_triples = triples[order[n_test:]], triples[order[:n_test]]
known = torch.zeros(n_entities, n_relations, n_entities, dtype=torch.bool)
known[triples[:, 0], triples[:, 1], triples[:, 2]] = True
print(f'{len(train_triples)} training triples, {len(test_triples)} test triples')


class TransE(nn.Module):
    def __init__(self, n_entities, n_relations, dim=32, p=2):
        super().__init__()
        self.p = p
        self.entities = nn.Embedding(n_entities, dim)
        self.relations = nn.Embedding(n_relations, dim)
        bound = 6 / dim ** 0.5
        nn.init.uniform_(self.entities.weight, -bound, bound)
        nn.init.uniform_(self.relations.weight, -bound, bound)
        with torch.no_grad():
            self.relations.weight.copy_(F.normalize(self.relations.weight, dim=1))

    def forward(self, triples):
        h = self.entities(triples[:, 0])
        r = self.relations(triples[:, 1])
        t = self.entities(triples[:, 2])
        return (h + r - t).norm(p=self.p, dim=1)

    def tail_distances(self, h, r):
        """Distances of (h, r, ?) to every entity: (len(h), n_entities)."""
        query = self.entities(h) + self.relations(r)
        return torch.cdist(query, self.entities.weight, p=self.p)


def corrupt(batch):
    bad = batch.clone()
    replace_head = torch.rand(len(batch)) < 0.5
    random_entities = torch.randint(0, n_entities, (len(batch),))
    bad[replace_head, 0] = random_entities[replace_head]
    bad[~replace_head, 2] = random_entities[~replace_head]
    return bad


def evaluate(model, triples):
    model.eval()
    with torch.no_grad():
        h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
        dist = model.tail_distances(h, r)
        target = dist.gather(1, t.unsqueeze(1))
        other_true = known[h, r].clone()
        other_true[torch.arange(len(t)), t] = False
        dist = dist.masked_fill(other_true, float('inf'))
        ranks = (dist < target).sum(dim=1) + 1
        by_argsort = (dist.argsort(dim=1) == t.unsqueeze(1)).float().argmax(dim=1) + 1
        sorted_dist, _ = dist.sort(dim=1)
    model.train()
    return ranks.float().mean().item(), (ranks <= 10).float().mean().item(), \
        (by_argsort <= 10).float().mean().item(), sorted_dist[0, :3]


model = TransE(n_entities, n_relations).to(device)
loader = DataLoader(TensorDataset(train_triples), batch_size=64, shuffle=True)
criterion = nn.MarginRankingLoss(margin=1.0)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

mean_rank, hits, hits_argsort, nearest = evaluate(model, test_triples)
print(f'before training | filtered mean rank {mean_rank:.2f} | hits@10 {hits:.3f}')
for epoch in range(1, 41):
    total = 0.0
    for (batch,) in loader:
        with torch.no_grad():
            model.entities.weight.data.copy_(F.normalize(model.entities.weight.data, dim=1))
        batch = batch.to(device)
        positive = model(batch)
        negative = model(corrupt(batch).to(device))
        loss = criterion(negative, positive, torch.ones_like(positive))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    if epoch % 10 == 0:
        mean_rank, hits, hits_argsort, nearest = evaluate(model, test_triples)
        print(f'epoch {epoch:2d} | margin loss {total / len(train_triples):.4f} | '
              f'filtered mean rank {mean_rank:.2f} | hits@10 {hits:.3f} '
              f'(by argsort {hits_argsort:.3f})')

norms = model.entities.weight.norm(dim=1)
print(f'entity norms in [{norms.min().item():.3f}, {norms.max().item():.3f}], '
      f'nearest distances of the first test query: {nearest.tolist()}')
state = model.state_dict()
print(f'state_dict: {list(state)} {tuple(state["entities.weight"].shape)}')
