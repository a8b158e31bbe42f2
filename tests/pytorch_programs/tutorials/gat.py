"""A graph attention network (Velickovic et al., 2018), written for the xpnn tests after the
paper's Cora model, classifying the nodes of a made-up stochastic-block graph: 4 blocks of 60
nodes, an edge inside a block with probability 0.06 and across blocks with 0.006, and 16
noisy features per node whose mean depends on its block.

Each layer projects the nodes for every head (``nn.Linear`` viewed as (N, heads, C)) and
scores each edge j -> i by a LeakyReLU of the attention vector against the concatenated
projections [W h_i || W h_j]. The softmax over each node's incoming edges is written out
with edge lists, without sparse tensors or a graph library: the per-node maximum by
``Tensor.scatter_reduce(..., reduce="amax", include_self=False)``, ``exp``, the per-node
sums by ``index_add_`` (first layer) and ``scatter_add`` (second); dropout on the attention
coefficients; heads concatenated in the first layer and averaged in the second. Boolean
train and test masks; Adam with weight decay.

    python tests/pytorch_programs/tutorials/gat.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
rng = random.Random(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_blocks, block_size, n_features = 4, 60, 16
n_nodes = n_blocks * block_size
labels = torch.arange(n_nodes) // block_size
src, dst = [], []
for i in range(n_nodes):
    for j in range(i + 1, n_nodes):
        p = 0.06 if i // block_size == j // block_size else 0.006
        if rng.random() < p:
            src += [i, j]
            dst += [j, i]
loops = list(range(n_nodes))
edge_index = torch.tensor([src + loops, dst + loops])
centres = 0.4 * torch.randn(n_blocks, n_features)
x = centres[labels] + torch.randn(n_nodes, n_features)

perm = list(range(n_nodes))
rng.shuffle(perm)
train_mask = torch.zeros(n_nodes, dtype=torch.bool)
train_mask[perm[:60]] = True
test_mask = ~train_mask
in_degree = torch.bincount(edge_index[1], minlength=n_nodes)
print(f'nodes {n_nodes}, edges {edge_index.size(1)} (self-loops included), in-degree '
      f'min {in_degree.min().item()} max {in_degree.max().item()}, '
      f'train {int(train_mask.sum())}, test {int(test_mask.sum())}')


class GATLayer(nn.Module):
    def __init__(self, in_features, out_features, heads, concat=True, dropout=0.3,
                 negative_slope=0.2, use_scatter_add=False):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.dropout, self.negative_slope = dropout, negative_slope
        self.use_scatter_add = use_scatter_add
        self.lin = nn.Linear(in_features, heads * out_features, bias=False)
        self.att = nn.Parameter(torch.empty(1, heads, 2 * out_features))
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))
        nn.init.xavier_uniform_(self.lin.weight, gain=1.414)
        nn.init.xavier_uniform_(self.att, gain=1.414)

    def forward(self, x, edge_index):
        n = x.size(0)
        h = self.lin(x).view(n, self.heads, self.out_features)
        source, target = edge_index
        pair = torch.cat([h[target], h[source]], dim=-1)           # (E, heads, 2C)
        scores = F.leaky_relu((pair * self.att).sum(dim=-1), self.negative_slope)
        # softmax over the edges coming into each target node
        index = target.unsqueeze(-1).expand_as(scores)
        node_max = scores.new_zeros(n, self.heads).scatter_reduce(
            0, index, scores, reduce='amax', include_self=False)
        scores = (scores - node_max[target]).exp()
        if self.use_scatter_add:
            node_sum = torch.zeros(n, self.heads, device=x.device).scatter_add(0, index, scores)
        else:
            node_sum = torch.zeros(n, self.heads, device=x.device).index_add_(0, target, scores)
        alpha = scores / (node_sum[target] + 1e-16)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        messages = h[source] * alpha.unsqueeze(-1)
        out = torch.zeros_like(h).index_add_(0, target, messages)
        if self.concat:
            out = out.reshape(n, self.heads * self.out_features)
        else:
            out = out.mean(dim=1)
        return out + self.bias, alpha


class GAT(nn.Module):
    def __init__(self, in_features, hidden, n_classes, heads=4, dropout=0.3):
        super().__init__()
        self.dropout = dropout
        self.gat1 = GATLayer(in_features, hidden, heads, concat=True, dropout=dropout)
        self.gat2 = GATLayer(hidden * heads, n_classes, 1, concat=False, dropout=dropout,
                             use_scatter_add=True)

    def forward(self, x, edge_index):
        x = F.dropout(x, p=self.dropout, training=self.training)
        x, _ = self.gat1(x, edge_index)
        x = F.elu(x)
        x = F.dropout(x, p=self.dropout, training=self.training)
        x, alpha = self.gat2(x, edge_index)
        return x, alpha


model = GAT(n_features, 8, n_blocks).to(device)
x, edge_index, labels = x.to(device), edge_index.to(device), labels.to(device)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)


def accuracy(logits, mask):
    return (logits[mask].argmax(dim=-1) == labels[mask]).float().mean().item()


for epoch in range(1, 81):
    model.train()
    optimizer.zero_grad()
    logits, _ = model(x, edge_index)
    loss = F.cross_entropy(logits[train_mask], labels[train_mask])
    loss.backward()
    optimizer.step()
    if epoch % 16 == 0:
        model.eval()
        with torch.no_grad():
            logits, alpha = model(x, edge_index)
            test_loss = F.cross_entropy(logits[test_mask], labels[test_mask])
        print(f'epoch {epoch:3d} | train loss {loss.item():.4f} | test loss '
              f'{test_loss.item():.4f} | train acc {accuracy(logits, train_mask):.3f} | '
              f'test acc {accuracy(logits, test_mask):.3f}')

# the attention each node pays its own self-loop, against a uniform share 1 / in-degree
self_alpha = alpha[-n_nodes:, 0]
print(f'mean self-attention {self_alpha.mean().item():.4f}, uniform would give '
      f'{(1.0 / in_degree.float()).mean().item():.4f}; incoming weights sum to '
      f'{torch.zeros(n_nodes).index_add_(0, edge_index[1], alpha[:, 0]).mean().item():.4f}')
