"""Link prediction with a relational graph convolutional network (Schlichtkrull et al., 2018,
"Modeling Relational Data with Graph Convolutional Networks"), written for the xpnn tests on
a made-up knowledge graph.

Entities belong to hidden groups and each relation links group g to group (g + shift_r);
triples are drawn from that rule. The R-GCN encoder has basis decomposition: the relation
weights are ``torch.einsum("rb,bio->rio", coefficients, bases)``. Each layer passes messages
per relation (inverse relations included) by ``index_add_`` into the targets, normalised
symmetrically by 1 / sqrt(deg(src) deg(dst)) with degrees from ``torch.bincount(minlength=)``,
plus a self-loop weight. The decoder is DistMult, <e_s, w_r, e_o>; training samples
negatives by corrupting heads or tails with ``torch.randint`` and minimises
``F.binary_cross_entropy_with_logits``, with Adam and ``clip_grad_norm_``. Evaluation ranks
each test triple's true tail among all entities, filtered (the other known true tails are
masked by ``masked_fill`` to -inf), and prints the filtered MRR and Hits@3.

    python tests/pytorch_programs/tutorials/knowledge_graph_rgcn.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(13)
rng = np.random.default_rng(13)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_entities, n_relations, n_groups = 60, 3, 6
groups = rng.integers(0, n_groups, n_entities)
shifts = [1, 2, 4]
triples = set()
while len(triples) < 420:
    s, r = rng.integers(n_entities), rng.integers(n_relations)
    candidates = np.flatnonzero(groups == (groups[s] + shifts[r]) % n_groups)
    if len(candidates):
        triples.add((int(s), int(r), int(rng.choice(candidates))))
triples = torch.tensor(sorted(triples))
triples = triples[torch.from_numpy(rng.permutation(len(triples)))]
train_triples, test_triples = triples[:360], triples[360:]
print(f'{n_entities} entities, {n_relations} relations, {len(train_triples)} training and '
      f'{len(test_triples)} test triples')


def graph_edges(triples):
    """Edges of the message graph: each triple forward (relation r) and backward (r + R)."""
    s, r, o = triples.unbind(1)
    src = torch.cat([s, o])
    dst = torch.cat([o, s])
    rel = torch.cat([r, r + n_relations])
    return src, dst, rel


class RGCNLayer(nn.Module):
    def __init__(self, d_in, d_out, n_rel, n_bases):
        super().__init__()
        self.bases = nn.Parameter(torch.empty(n_bases, d_in, d_out))
        self.coefficients = nn.Parameter(torch.empty(n_rel, n_bases))
        self.self_loop = nn.Linear(d_in, d_out)
        nn.init.xavier_uniform_(self.bases)
        nn.init.xavier_uniform_(self.coefficients)

    def forward(self, h, src, dst, rel, norm):
        weights = torch.einsum('rb,bio->rio', self.coefficients, self.bases)
        out = self.self_loop(h)
        for r in range(weights.shape[0]):
            mask = rel == r
            messages = (h[src[mask]] @ weights[r]) * norm[mask].unsqueeze(1)
            out = out.index_add(0, dst[mask], messages)
        return out


class RGCNLinkPredictor(nn.Module):
    def __init__(self, dim=32, n_bases=2):
        super().__init__()
        self.entity = nn.Embedding(n_entities, dim)
        self.layers = nn.ModuleList([RGCNLayer(dim, dim, 2 * n_relations, n_bases),
                                     RGCNLayer(dim, dim, 2 * n_relations, n_bases)])
        self.relation = nn.Parameter(torch.randn(n_relations, dim))

    def encode(self, src, dst, rel):
        deg = torch.bincount(dst, minlength=n_entities).float().clamp(min=1)
        norm = (deg[src] * deg[dst]).rsqrt()
        h = self.entity.weight
        for i, layer in enumerate(self.layers):
            h = layer(h, src, dst, rel, norm)
            if i < len(self.layers) - 1:
                h = F.relu(h)
        return h

    def score(self, h, s, r, o):
        return (h[s] * self.relation[r] * h[o]).sum(-1)


def negatives(pos, count):
    neg = pos.repeat(count, 1)
    corrupt = torch.randint(n_entities, (len(neg),))
    heads = torch.rand(len(neg)) < 0.5
    neg[:, 0] = torch.where(heads, corrupt, neg[:, 0])
    neg[:, 2] = torch.where(heads, neg[:, 2], corrupt)
    return neg


src, dst, rel = (v.to(device) for v in graph_edges(train_triples))
known = {}
for s, r, o in triples.tolist():
    known.setdefault((s, r), []).append(o)

model = RGCNLinkPredictor().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)


def filtered_ranks(h, triples):
    ranks = []
    for s, r, o in triples.tolist():
        scores = model.score(h, torch.tensor(s), torch.tensor(r), torch.arange(n_entities))
        others = [t for t in known[(s, r)] if t != o]
        if others:
            scores = scores.masked_fill(torch.isin(torch.arange(n_entities),
                                                   torch.tensor(others)), float('-inf'))
        ranks.append((scores > scores[o]).sum().item() + 1)
    return torch.tensor(ranks, dtype=torch.float32)


for epoch in range(1, 61):
    model.train()
    pos = train_triples.to(device)
    neg = negatives(train_triples, 4).to(device)
    batch = torch.cat([pos, neg])
    labels = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))]).to(device)
    h = model.encode(src, dst, rel)
    logits = model.score(h, batch[:, 0], batch[:, 1], batch[:, 2])
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    loss = loss + 1e-3 * (h.pow(2).mean() + model.relation.pow(2).mean())
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if epoch % 10 == 0:
        model.eval()
        with torch.no_grad():
            h = model.encode(src, dst, rel)
            ranks = filtered_ranks(h, test_triples)
        print(f'epoch {epoch:2d} | loss {loss.item():.4f} | filtered MRR '
              f'{(1.0 / ranks).mean().item():.3f} | Hits@3 {(ranks <= 3).float().mean().item():.3f}')
