"""Graph classification by message passing with learned edge weights, written for the xpnn
tests: 160 made-up graphs of 6 to 12 nodes, each node of type A or B (a one-hot plus noise
features); a graph is of class 1 when its edges mostly join nodes of one type and of class
0 when they mostly join nodes of different types, so the class lies in the edges, not in
the nodes' features.

Each layer scores every edge j -> i by a small MLP on the concatenated endpoint features
``torch.cat([x[dst], x[src]], dim=1)``, puts the scores in a
``torch.sparse_coo_tensor(edge_index, scores, (n, n))`` and normalises each node's incoming
edges by ``torch.sparse.softmax(adj, dim=1)``; the messages are aggregated by
``torch.sparse.mm(attention, x @ W)``, so the gradient reaches the score MLP through the
sparse softmax's values. A mini-batch is the disjoint union of its graphs (edge indices
offset, a batch vector of graph ids); the graph readout is a mean by ``index_add_`` over the
batch vector divided by node counts from ``scatter_add_``. Adam; loss and accuracy.

    python tests/pytorch_programs/tutorials/edge_attention.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(13)
rng = random.Random(13)


def make_graph(label):
    n = rng.randint(6, 12)
    types = [rng.randint(0, 1) for _ in range(n)]
    edges = set()
    while len(edges) < 2 * n:
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j or (i, j) in edges:
            continue
        same = types[i] == types[j]
        keep = 0.9 if same == bool(label) else 0.1
        if rng.random() < keep:
            edges.add((i, j))
            edges.add((j, i))
    x = torch.cat([F.one_hot(torch.tensor(types), 2).float(),
                   0.5 * torch.randn(n, 4)], dim=1)
    edge_index = torch.tensor(sorted(edges)).t()
    return x, edge_index, label


graphs = [make_graph(i % 2) for i in range(160)]
train_graphs, test_graphs = graphs[:128], graphs[128:]
print(f'graphs {len(graphs)} (train {len(train_graphs)}, test {len(test_graphs)}), nodes '
      f'{sum(g[0].size(0) for g in graphs)}, directed edges '
      f'{sum(g[1].size(1) for g in graphs)}')


def collate(batch):
    """The disjoint union of the graphs: features, edges (source, target) with self-loops,
    the batch vector and the labels."""
    xs, edges, batch_vec, offset = [], [], [], 0
    for g, (x, edge_index, _) in enumerate(batch):
        n = x.size(0)
        loops = torch.arange(n).unsqueeze(0).repeat(2, 1)
        edges.append(torch.cat([edge_index, loops], dim=1) + offset)
        xs.append(x)
        batch_vec.append(torch.full((n,), g, dtype=torch.long))
        offset += n
    labels = torch.tensor([label for _, _, label in batch])
    return torch.cat(xs), torch.cat(edges, dim=1), torch.cat(batch_vec), labels


class EdgeAttentionConv(nn.Module):
    def __init__(self, in_features, out_features, hidden=16):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features)
        self.score = nn.Sequential(nn.Linear(2 * in_features, hidden), nn.Tanh(),
                                   nn.Linear(hidden, 1))

    def forward(self, x, edge_index):
        n = x.size(0)
        src, dst = edge_index
        scores = self.score(torch.cat([x[dst], x[src]], dim=1)).squeeze(-1)
        adj = torch.sparse_coo_tensor(torch.stack([dst, src]), scores, (n, n))
        attention = torch.sparse.softmax(adj, dim=1)
        return torch.sparse.mm(attention, self.lin(x)), attention


class EdgeAttentionNet(nn.Module):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.conv1 = EdgeAttentionConv(in_features, hidden)
        self.conv2 = EdgeAttentionConv(hidden, hidden)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, n_classes))

    def forward(self, x, edge_index, batch, n_graphs):
        h, _ = self.conv1(x, edge_index)
        h = F.relu(h)
        h, attention = self.conv2(h, edge_index)
        h = F.relu(h)
        pooled = torch.zeros(n_graphs, h.size(1)).index_add_(0, batch, h)
        counts = torch.zeros(n_graphs).scatter_add_(0, batch, torch.ones_like(batch,
                                                                              dtype=h.dtype))
        return self.head(pooled / counts.unsqueeze(1)), attention


model = EdgeAttentionNet(6, 16, 2)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
test_x, test_edges, test_batch, test_labels = collate(test_graphs)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits, attention = model(test_x, test_edges, test_batch, len(test_graphs))
        loss = F.cross_entropy(logits, test_labels)
        acc = (logits.argmax(dim=1) == test_labels).float().mean()
    return loss.item(), acc.item(), attention


batch_size = 16
order = list(range(len(train_graphs)))
for epoch in range(1, 16):
    model.train()
    rng.shuffle(order)
    total, correct = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = [train_graphs[i] for i in order[start:start + batch_size]]
        x, edges, batch_vec, labels = collate(batch)
        logits, _ = model(x, edges, batch_vec, len(batch))
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        if epoch == 1 and start == 0:
            grad = model.conv1.score[0].weight.grad
            print(f'first step: score-MLP gradient norm {grad.norm().item():.5f}')
        optimizer.step()
        total += loss.item() * len(batch)
        correct += (logits.argmax(dim=1) == labels).sum().item()
    if epoch % 3 == 0:
        test_loss, test_acc, _ = evaluate()
        print(f'epoch {epoch:2d} | train loss {total / len(order):.4f} | train acc '
              f'{correct / len(order):.3f} | test loss {test_loss:.4f} | test acc '
              f'{test_acc:.3f}')

# the learned attention: the weight a node gives its own self-loop, and rows summing to one
test_loss, test_acc, attention = evaluate()
attention = attention.coalesce()
row, col = attention.indices()
weights = attention.values()
self_weight = weights[row == col].mean()
row_sums = torch.sparse.sum(attention, dim=1).to_dense()
print(f'self-loop attention {self_weight.item():.4f}, rows sum to '
      f'{row_sums.min().item():.4f}..{row_sums.max().item():.4f}, attention entries '
      f'{attention._nnz()}')
