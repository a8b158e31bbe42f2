"""A two-layer graph convolutional network (Kipf and Welling, 2017), written for the xpnn
tests, classifying the nodes of a made-up graph: 300 nodes in 3 communities, each node
linked to 3 nodes of its own community and 2 anywhere, with 16 noisy features near its
community's centre.

The graph is an ``edge_index`` (2, E) of directed edges plus self-loops, normalised by
``deg^-1/2`` at both ends (``bincount`` and ``pow(-0.5)``), and each layer's message passing
gathers the source nodes' rows and sums them into the target nodes with ``index_add_`` (the
first layer) and ``scatter_add`` (the second), without sparse tensors. Adam on the
training nodes' cross-entropy; accuracy on the held-out nodes.

    python tests/pytorch_programs/tutorials/gnn_message_passing.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
rng = random.Random(3)

n_nodes, n_classes, n_features = 300, 3, 16
labels = torch.tensor([i % n_classes for i in range(n_nodes)])
members = [[i for i in range(n_nodes) if i % n_classes == c] for c in range(n_classes)]
src, dst = [], []
for i in range(n_nodes):
    own = labels[i].item()
    for j in rng.sample(members[own], 3) + [rng.randrange(n_nodes), rng.randrange(n_nodes)]:
        if j != i:
            src += [i, j]
            dst += [j, i]
edge_index = torch.tensor([src, dst])
centres = 0.25 * torch.randn(n_classes, n_features)
x = centres[labels] + torch.randn(n_nodes, n_features)

# self-loops, then the symmetric normalisation D^-1/2 (A + I) D^-1/2 as per-edge weights
loops = torch.arange(n_nodes)
edge_index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
row, col = edge_index
deg = torch.bincount(col, minlength=n_nodes).float()
deg_inv_sqrt = deg.pow(-0.5)
norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
print('nodes:', n_nodes, 'edges:', edge_index.shape[1], 'mean degree {:.2f}'.format(deg.mean().item()))

perm = list(range(n_nodes))
rng.shuffle(perm)
train_idx, test_idx = torch.tensor(perm[:100]), torch.tensor(perm[100:])


class GCNLayer(nn.Module):
    def __init__(self, n_in, n_out, use_scatter):
        super().__init__()
        self.lin = nn.Linear(n_in, n_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.use_scatter = use_scatter

    def forward(self, h, edge_index, norm):
        h = self.lin(h)
        row, col = edge_index
        messages = h[row] * norm.unsqueeze(1)
        if self.use_scatter:
            index = col.unsqueeze(1).expand(-1, h.shape[1])
            out = torch.zeros_like(h).scatter_add(0, index, messages)
        else:
            out = torch.zeros_like(h)
            out.index_add_(0, col, messages)
        return out + self.bias


class GCN(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.conv1 = GCNLayer(n_in, n_hidden, use_scatter=False)
        self.conv2 = GCNLayer(n_hidden, n_out, use_scatter=True)

    def forward(self, x, edge_index, norm):
        h = F.relu(self.conv1(x, edge_index, norm))
        h = F.dropout(h, p=0.5, training=self.training)
        return self.conv2(h, edge_index, norm)


model = GCN(n_features, 32, n_classes)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)


def accuracy(logits, idx):
    return (logits[idx].argmax(dim=1) == labels[idx]).sum().item() / len(idx)


for epoch in range(1, 61):
    model.train()
    optimizer.zero_grad()
    out = model(x, edge_index, norm)
    loss = F.cross_entropy(out[train_idx], labels[train_idx])
    loss.backward()
    optimizer.step()
    if epoch % 10 == 0:
        model.eval()
        with torch.no_grad():
            logits = model(x, edge_index, norm)
            test_loss = F.cross_entropy(logits[test_idx], labels[test_idx]).item()
        print('epoch {:3d} | train loss {:.4f} | test loss {:.4f} | train acc {:.3f} | '
              'test acc {:.3f}'.format(epoch, loss.item(), test_loss,
                                       accuracy(logits, train_idx), accuracy(logits, test_idx)))
