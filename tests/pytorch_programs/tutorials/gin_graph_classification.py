"""Graph classification by a Graph Isomorphism Network (Xu, Hu, Leskovec and Jegelka, 2019,
"How Powerful are Graph Neural Networks?"), written for the xpnn tests after PyTorch
Geometric's GIN example, with message passing by hand on made-up graphs.

The graphs (made with NumPy) have 6 to 14 nodes: a random tree with 0, 1 or 3 extra edges, the
class being the number of independent cycles. A node's features are its degree, one-hot (4
standing for 4 or more), so the network must count cycles from local structure. A mini-batch is
one big disconnected graph, as in PyTorch Geometric: an ``edge_index`` of shape (2, E) (both
directions of each edge) with the nodes renumbered by offsets, and a ``batch`` vector giving
each node's graph. Each GIN layer sums the neighbours' features by ``index_add_`` over the edge
targets and applies an MLP (Linear, ``BatchNorm1d``, ReLU) to ``(1 + eps) * x + sum`` with a
learnable ``eps``. The readout concatenates, for every layer, the sum per graph (``index_add_``
on ``batch``), the mean (the sum over ``torch.bincount(batch)``) and the maximum
(``scatter_reduce(..., reduce="amax", include_self=False)``); a linear head gives the class
logits under cross-entropy. Adam under StepLR; the graphs are batched by a DataLoader with a
collate function; loss, accuracy and the learned eps per epoch.

    python tests/pytorch_programs/tutorials/gin_graph_classification.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

torch.manual_seed(8)
rng = np.random.default_rng(8)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def random_graph(label):
    n = int(rng.integers(6, 15))
    # a random tree (each node joins an earlier one), then 0, 1 or 3 extra edges: the classes
    # differ only in their number of independent cycles
    edges = [(i, int(rng.integers(0, i))) for i in range(1, n)]
    existing = {(min(a, b), max(a, b)) for a, b in edges}
    extra = (0, 1, 3)[label]
    while extra:
        a, b = (int(v) for v in rng.choice(n, 2, replace=False))
        if (min(a, b), max(a, b)) not in existing:
            existing.add((min(a, b), max(a, b)))
            edges.append((a, b))
            extra -= 1
    edges = np.array(sorted({(min(a, b), max(a, b)) for a, b in edges if a != b})).T
    edge_index = np.concatenate([edges, edges[::-1]], axis=1)  # both directions
    degree = np.bincount(edge_index[0], minlength=n)
    x = np.eye(5)[np.minimum(degree, 4)]  # one-hot degree, 4 meaning 4 or more
    return (torch.tensor(x, dtype=torch.float32), torch.tensor(edge_index, dtype=torch.long),
            torch.tensor(label))


def collate(graphs):
    xs, edges, batch, offset = [], [], [], 0
    for i, (x, edge_index, _) in enumerate(graphs):
        xs.append(x)
        edges.append(edge_index + offset)
        batch.append(torch.full((x.shape[0],), i, dtype=torch.long))
        offset += x.shape[0]
    labels = torch.stack([g[2] for g in graphs])
    return torch.cat(xs), torch.cat(edges, dim=1), torch.cat(batch), labels


class GINConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.eps = nn.Parameter(torch.zeros(1))
        self.mlp = nn.Sequential(nn.Linear(cin, cout), nn.BatchNorm1d(cout), nn.ReLU(),
                                 nn.Linear(cout, cout))

    def forward(self, x, edge_index):
        src, dst = edge_index
        neighbours = torch.zeros_like(x).index_add_(0, dst, x[src])
        return self.mlp((1 + self.eps) * x + neighbours)


class GIN(nn.Module):
    def __init__(self, cin=5, hidden=32, layers=3, classes=3):
        super().__init__()
        self.convs = nn.ModuleList(
            [GINConv(cin if i == 0 else hidden, hidden) for i in range(layers)])
        self.norms = nn.ModuleList([nn.BatchNorm1d(hidden) for _ in range(layers)])
        self.head = nn.Sequential(nn.Linear(3 * hidden * layers, hidden), nn.ReLU(),
                                  nn.Dropout(0.2), nn.Linear(hidden, classes))

    def forward(self, x, edge_index, batch):
        graphs = int(batch.max()) + 1
        counts = torch.bincount(batch, minlength=graphs).clamp(min=1)
        readouts = []
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x, edge_index)))
            total = x.new_zeros(graphs, x.shape[1]).index_add_(0, batch, x)
            mean = total / counts.unsqueeze(1).to(x.dtype)
            index = batch.unsqueeze(1).expand(-1, x.shape[1])
            largest = x.new_zeros(graphs, x.shape[1]).scatter_reduce(
                0, index, x, reduce="amax", include_self=False)
            readouts += [total, mean, largest]
        return self.head(torch.cat(readouts, dim=1))


labels = rng.integers(0, 3, 360)
graphs = [random_graph(int(c)) for c in labels]
train_graphs, test_graphs = graphs[:240], graphs[240:]
test_batch = collate(test_graphs)
print(f'{len(train_graphs)} training graphs, {len(test_graphs)} test graphs, '
      f'{test_batch[0].shape[0]} test nodes, {test_batch[1].shape[1]} test edges')

# the readouts on a 2-graph batch: node degrees by index_add_, the largest per graph by
# scatter_reduce against a loop over the graphs
x, edge_index, batch, _ = collate(graphs[:2])
ones = torch.ones(edge_index.shape[1], 1)
degree = torch.zeros(x.shape[0], 1).index_add_(0, edge_index[1], ones)
index = batch.unsqueeze(1)
largest = torch.zeros(2, 1).scatter_reduce(0, index, degree, reduce="amax", include_self=False)
loop = torch.stack([degree[batch == g].max(dim=0).values for g in range(2)])
print(f'nodes per graph {torch.bincount(batch).tolist()}, largest degrees '
      f'{largest.flatten().tolist()}, matches: {torch.equal(largest, loop)}')

model = GIN().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
loader = DataLoader(train_graphs, batch_size=24, shuffle=True, collate_fn=collate)


def evaluate():
    model.eval()
    with torch.no_grad():
        x, edge_index, batch, y = (t.to(device) for t in test_batch)
        logits = model(x, edge_index, batch)
        loss = F.cross_entropy(logits, y).item()
        correct = (logits.argmax(1) == y).sum().item()
    model.train()
    return loss, correct / len(test_graphs)


loss, acc = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {acc:.3f}')
for epoch in range(1, 9):
    total = 0.0
    for x, edge_index, batch, y in loader:
        x, edge_index, batch, y = x.to(device), edge_index.to(device), batch.to(device), \
            y.to(device)
        loss = F.cross_entropy(model(x, edge_index, batch), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()
    loss, acc = evaluate()
    eps = [round(v, 4) for v in torch.cat([conv.eps for conv in model.convs]).tolist()]
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'accuracy {acc:.3f} | eps {eps}')
