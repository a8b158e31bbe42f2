"""GraphSAGE with neighbour sampling (Hamilton et al., 2017, "Inductive Representation
Learning on Large Graphs"), written for the xpnn tests after the paper's minibatch
algorithm, on a made-up stochastic block model graph.

The graph has 3 communities of 100 nodes, denser inside a community than across, plus a ring
so that every node has a neighbour; node features are noisy community means. The adjacency
goes to CSR form: the edges sorted by source (``torch.argsort(stable=True)``), the degrees by
``torch.bincount(minlength=N)``, the row pointers by ``torch.cumsum`` after a zero. A
minibatch of seed nodes samples k neighbours per node and per hop: offsets from
``torch.randint`` taken modulo the degree, added to the row pointer and looked up in the
column array. The nodes a hop needs are ``torch.unique(..., return_inverse=True)`` of the
targets and their samples, so each layer works on a compact node set; a SAGE layer is
W_self h_v + W_neigh mean(h_u), the mean by ``Tensor.scatter_reduce(0, index, src,
reduce="mean", include_self=False)`` into zeros, then ReLU and ``F.normalize``. Evaluation
aggregates over all neighbours (the full CSR), full-batch; node classification accuracy is
printed for the train and test nodes.

    python tests/pytorch_programs/tutorials/graphsage_sampling.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, per_class, n_features = 3, 100, 8
N = n_classes * per_class
labels_np = np.repeat(np.arange(n_classes), per_class)
same = labels_np[:, None] == labels_np[None, :]
p = np.where(same, 0.05, 0.008)
upper = np.triu(rng.random((N, N)) < p, 1)
ring = np.zeros((N, N), bool)
ring[np.arange(N), (np.arange(N) + 1) % N] = True
adj = upper | ring
adj = adj | adj.T
src_np, dst_np = np.nonzero(adj)
centres = rng.normal(0, 1, size=(n_classes, n_features))
features = centres[labels_np] + rng.normal(0, 1.6, size=(N, n_features))

x = torch.tensor(features, dtype=torch.float32, device=device)
y = torch.from_numpy(labels_np).to(device)
src = torch.from_numpy(src_np).to(device)
dst = torch.from_numpy(dst_np).to(device)

# CSR by source node
order = torch.argsort(src, stable=True)
col = dst[order]
degree = torch.bincount(src, minlength=N)
rowptr = torch.cat([torch.zeros(1, dtype=torch.long, device=device), degree.cumsum(0)])
print(f'{N} nodes, {len(src)} directed edges, degree {degree.min().item()}-'
      f'{degree.max().item()} (mean {degree.float().mean().item():.2f}), '
      f'rowptr[-1] {rowptr[-1].item()}')
perm = rng.permutation(N)
train_idx = torch.from_numpy(np.sort(perm[:150])).to(device)
test_idx = torch.from_numpy(np.sort(perm[150:])).to(device)


def sample_neighbours(nodes, k):
    """k neighbours of each node, with replacement: (len(nodes), k) node ids."""
    offsets = torch.randint(0, 1 << 20, (len(nodes), k), device=nodes.device)
    offsets = offsets % degree[nodes].unsqueeze(1)
    return col[rowptr[nodes].unsqueeze(1) + offsets]


def sample_blocks(seeds, fanouts):
    """From the seeds outwards: per hop, (targets, the compact node set, where the targets
    and their sampled neighbours sit in it)."""
    blocks, targets = [], seeds
    for k in fanouts:
        nbrs = sample_neighbours(targets, k)
        nodes, inverse = torch.unique(torch.cat([targets, nbrs.flatten()]), return_inverse=True)
        self_pos, nbr_pos = inverse[:len(targets)], inverse[len(targets):].view(-1, k)
        blocks.append((nodes, self_pos, nbr_pos))
        targets = nodes
    return blocks[::-1]          # the innermost hop first


class SAGEConv(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin_self = nn.Linear(d_in, d_out)
        self.lin_neigh = nn.Linear(d_in, d_out, bias=False)

    def forward(self, h, self_pos, nbr_src, nbr_dst, n_targets):
        index = nbr_dst.unsqueeze(1).expand(-1, h.size(1))
        mean = torch.zeros(n_targets, h.size(1), device=h.device, dtype=h.dtype)
        mean = mean.scatter_reduce(0, index, h[nbr_src], reduce="mean", include_self=False)
        return self.lin_self(h[self_pos]) + self.lin_neigh(mean)


class GraphSAGE(nn.Module):
    def __init__(self, d_in, hidden, n_out, dropout=0.3):
        super().__init__()
        self.convs = nn.ModuleList([SAGEConv(d_in, hidden), SAGEConv(hidden, hidden)])
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, h, blocks):
        for conv, (self_pos, nbr_src, nbr_dst, n_targets) in zip(self.convs, blocks):
            h = F.normalize(F.relu(conv(self.drop(h), self_pos, nbr_src, nbr_dst, n_targets)),
                            dim=-1)
        return self.head(h)


def sampled_layers(seeds, fanouts=(5, 5)):
    """The input node ids and each layer's (self positions, neighbour positions, target
    positions, target count)."""
    blocks = sample_blocks(seeds, fanouts)
    layers = []
    for nodes, self_pos, nbr_pos in blocks:
        k = nbr_pos.size(1)
        targets = torch.arange(len(self_pos), device=seeds.device).repeat_interleave(k)
        layers.append((self_pos, nbr_pos.flatten(), targets, len(self_pos)))
    return blocks[0][0], layers


def full_layers():
    everyone = torch.arange(N, device=device)
    layer = (everyone, col, torch.repeat_interleave(everyone, degree), N)
    return [layer, layer]


def evaluate(model):
    model.eval()
    with torch.no_grad():
        logits = model(x, full_layers())
        loss = F.cross_entropy(logits[test_idx], y[test_idx]).item()
        pred = logits.argmax(1)
        train_acc = (pred[train_idx] == y[train_idx]).float().mean().item()
        test_acc = (pred[test_idx] == y[test_idx]).float().mean().item()
    return loss, train_acc, test_acc


model = GraphSAGE(n_features, 32, n_classes).to(device)
loss, train_acc, test_acc = evaluate(model)
print(f'untrained | test loss {loss:.4f} | train acc {train_acc:.3f} | test acc {test_acc:.3f}')
nodes, layers = sampled_layers(train_idx[:4])
print(f'a sampled batch of 4 seeds: {len(nodes)} input nodes, layer sizes '
      f'{[n for *_, n in layers]}, seeds last: {layers[-1][3]}')
optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=5e-4)
for epoch in range(1, 11):
    model.train()
    shuffled = train_idx[torch.from_numpy(rng.permutation(len(train_idx))).to(device)]
    total = 0.0
    for i in range(0, len(shuffled), 50):
        seeds = shuffled[i:i + 50]
        nodes, layers = sampled_layers(seeds)
        loss = F.cross_entropy(model(x[nodes], layers), y[seeds])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, train_acc, test_acc = evaluate(model)
    print(f'epoch {epoch} | train loss {total / 3:.4f} | test loss {loss:.4f} | '
          f'train acc {train_acc:.3f} | test acc {test_acc:.3f}')
