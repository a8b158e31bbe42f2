"""A graph convolutional network (Kipf and Welling, 2017) on a sparse adjacency matrix,
written for the xpnn tests after the paper's semi-supervised node classification: a made-up
stochastic-block graph of 4 blocks of 60 nodes, its edges drawn by ``torch.randint`` (most
inside a block, a few across), and 16 noisy features per node whose mean depends on its
block.

The edge list is made undirected by ``torch.cat`` with its flip, self-loops are added, and
the adjacency is a ``torch.sparse_coo_tensor(...).coalesce()`` whose repeated edges are
flattened back to ones. The symmetric normalisation D^-1/2 (A + I) D^-1/2 reads the degrees
by ``torch.sparse.sum(adj, dim=1).to_dense()`` and ``pow(-0.5)`` (``masked_fill`` turning
an isolated node's inf into 0), and each ``GCNConv`` computes ``torch.sparse.mm(adj, x @ W)
+ b``. Dropout on the features, train / validation / test masks from ``torch.randperm``,
Adam with weight decay; the loss and the accuracy of each split.

    python tests/pytorch_programs/tutorials/gcn_sparse.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(11)

n_blocks, block_size, n_features = 4, 60, 16
n_nodes = n_blocks * block_size
labels = torch.arange(n_nodes) // block_size

# edges inside a block: random pairs of its members; edges across blocks: random pairs
inside = torch.randint(0, block_size, (2, 100 * n_blocks))
inside = inside + (torch.arange(n_blocks).repeat_interleave(100) * block_size)
across = torch.randint(0, n_nodes, (2, 60))
edge_index = torch.cat([inside, across], dim=1)
edge_index = edge_index[:, edge_index[0] != edge_index[1]]
edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)        # undirected

centres = torch.zeros(n_blocks, n_features)
for c in range(n_blocks):
    centres[c, 4 * c:4 * c + 4] = 0.6
x = centres[labels] + torch.randn(n_nodes, n_features)


def normalized_adjacency(edge_index, n):
    """D^-1/2 (A + I) D^-1/2 as a coalesced sparse COO tensor."""
    loops = torch.arange(n).unsqueeze(0).repeat(2, 1)
    index = torch.cat([edge_index, loops], dim=1)
    adj = torch.sparse_coo_tensor(index, torch.ones(index.size(1)), (n, n)).coalesce()
    # a pair drawn twice was summed by coalesce: back to a 0/1 matrix
    adj = torch.sparse_coo_tensor(adj.indices(), torch.ones_like(adj.values()), adj.shape)
    adj = adj.coalesce()
    deg = torch.sparse.sum(adj, dim=1).to_dense()
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt = deg_inv_sqrt.masked_fill(torch.isinf(deg_inv_sqrt), 0.0)
    row, col = adj.indices()
    values = deg_inv_sqrt[row] * adj.values() * deg_inv_sqrt[col]
    return torch.sparse_coo_tensor(adj.indices(), values, (n, n)).coalesce(), deg


adj, deg = normalized_adjacency(edge_index, n_nodes)
plain = torch.sparse_coo_tensor(edge_index, torch.ones(edge_index.size(1)),
                                (n_nodes, n_nodes)).coalesce()
plain_deg = torch.sparse.sum(plain, dim=1).to_dense()
same_block = (labels[adj.indices()[0]] == labels[adj.indices()[1]]).float().mean()
print(f'nodes {n_nodes}, stored entries {adj._nnz()} (self-loops included), degree min '
      f'{int(deg.min())} max {int(deg.max())} mean {deg.mean().item():.2f}, isolated '
      f'{int((plain_deg == 0).sum())}, same-block share {same_block.item():.3f}')
print(f'layout {adj.layout}, is_coalesced {adj.is_coalesced()}, rows of D^-1/2 (A+I) D^-1/2 '
      f'sum to {torch.sparse.sum(adj, dim=1).to_dense().mean().item():.3f} on average')

perm = torch.randperm(n_nodes)
train_mask = torch.zeros(n_nodes, dtype=torch.bool)
val_mask = torch.zeros(n_nodes, dtype=torch.bool)
test_mask = torch.zeros(n_nodes, dtype=torch.bool)
train_mask[perm[:40]] = True
val_mask[perm[40:100]] = True
test_mask[perm[100:]] = True


class GCNConv(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        stdv = 1.0 / math.sqrt(out_features)
        nn.init.uniform_(self.weight, -stdv, stdv)

    def forward(self, x, adj):
        return torch.sparse.mm(adj, x @ self.weight) + self.bias

    def extra_repr(self):
        return f'{self.weight.size(0)}, {self.weight.size(1)}'


class GCN(nn.Module):
    def __init__(self, n_in, n_hidden, n_out, dropout=0.5):
        super().__init__()
        self.conv1 = GCNConv(n_in, n_hidden)
        self.conv2 = GCNConv(n_hidden, n_out)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.dropout(x, self.dropout, training=self.training)
        x = F.relu(self.conv1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        return self.conv2(x, adj)


model = GCN(n_features, 32, n_blocks)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)


def accuracy(logits, mask):
    return (logits[mask].argmax(dim=1) == labels[mask]).float().mean().item()


for epoch in range(1, 101):
    model.train()
    optimizer.zero_grad()
    out = model(x, adj)
    loss = F.cross_entropy(out[train_mask], labels[train_mask])
    loss.backward()
    optimizer.step()
    if epoch % 20 == 0:
        model.eval()
        with torch.no_grad():
            logits = model(x, adj)
            val_loss = F.cross_entropy(logits[val_mask], labels[val_mask])
        print(f'epoch {epoch:3d} | train loss {loss.item():.4f} | val loss '
              f'{val_loss.item():.4f} | train acc {accuracy(logits, train_mask):.3f} | '
              f'val acc {accuracy(logits, val_mask):.3f}')

model.eval()
with torch.no_grad():
    logits = model(x, adj)
    test_loss = F.cross_entropy(logits[test_mask], labels[test_mask])
    # one propagation step of the raw features alone, for comparison
    smoothed = torch.sparse.mm(adj, x)
    centroid = torch.stack([smoothed[train_mask & (labels == c)].mean(0)
                            for c in range(n_blocks)])
    baseline = torch.cdist(smoothed, centroid).argmin(dim=1)
print(f'test loss {test_loss.item():.4f} | test acc {accuracy(logits, test_mask):.3f} | '
      f'nearest-centroid on A_hat x: '
      f'{(baseline[test_mask] == labels[test_mask]).float().mean().item():.3f}')
