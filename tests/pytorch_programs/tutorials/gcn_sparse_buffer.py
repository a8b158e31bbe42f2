"""A two-layer graph convolutional network (Kipf & Welling, "Semi-Supervised Classification
with Graph Convolutional Networks", ICLR 2017), written for the xpnn tests, on a made-up
graph of 4 communities: 30 nodes each, edges fixed by a hash of the node pair (dense inside
a community, sparse between them), 16 features per node from sines, 8 labelled nodes per
class. Only the weights' initialisation is random.

The renormalised adjacency D^-1/2 (A + I) D^-1/2 is built as a sparse COO tensor
(``torch.sparse_coo_tensor``, the degrees by ``torch.sparse.sum(...).to_dense().pow(-0.5)``,
the scaling by sparse * dense) and held by the model as a registered buffer, so it moves
with ``.to`` and travels in the ``state_dict``. Each layer is ``torch.sparse.mm(adj, X W)``;
Adam trains on the labelled nodes for 60 steps; the state dict is saved with ``torch.save``
to a BytesIO and loaded into a fresh model, which must predict the same.

    python tests/pytorch_programs/tutorials/gcn_sparse_buffer.py
"""
import io

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)

n_classes, per_class, n_features, hidden = 4, 30, 16, 32
n = n_classes * per_class
labels = torch.arange(n_classes).repeat_interleave(per_class)
# a fixed graph (no random draw, so both libraries see the same one): a node pair is an
# edge when a hash of the pair falls under a threshold, higher inside a community
node = torch.arange(n)
code = (node[:, None] * 7919 + node[None, :] * 104729 + node[:, None] * node[None, :]) % 1000
same = labels[:, None] == labels[None, :]
chance = torch.where(same, torch.full((n, n), 120), torch.full((n, n), 20))
upper = torch.triu(code < chance, diagonal=1)
src, dst = upper.nonzero(as_tuple=True)
print('graph:', n, 'nodes,', src.numel(), 'edges')

centers = torch.sin(torch.arange(n_classes * n_features, dtype=torch.float32) * 1.7)
features = 0.6 * centers.reshape(n_classes, n_features)[labels] + \
    1.5 * torch.sin(node[:, None] * 3.1 + torch.arange(n_features) * 0.37 + node[:, None] ** 2)


def normalized_adjacency(src, dst, n):
    """D^-1/2 (A + I) D^-1/2 of an undirected graph, as a coalesced sparse tensor."""
    loops = torch.arange(n)
    rows = torch.cat([src, dst, loops])
    cols = torch.cat([dst, src, loops])
    a = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(rows.numel()), (n, n))
    a = a.coalesce()
    deg = torch.sparse.sum(a, dim=1).to_dense()
    d = deg.pow(-0.5)
    return (a * d[:, None] * d[None, :]).coalesce(), deg


class GCN(nn.Module):
    def __init__(self, adj, n_in, n_hidden, n_out):
        super().__init__()
        self.register_buffer('adj', adj)
        self.lin1 = nn.Linear(n_in, n_hidden)
        self.lin2 = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        h = F.relu(torch.sparse.mm(self.adj, self.lin1(x)))
        return torch.sparse.mm(self.adj, self.lin2(h))


adj, deg = normalized_adjacency(src, dst, n)
print('adjacency:', adj.layout, tuple(adj.shape), 'nnz', adj._nnz(),
      'coalesced', adj.is_coalesced())
print('degree: min {:.0f} max {:.0f} mean {:.2f}'.format(deg.min().item(), deg.max().item(),
                                                         deg.mean().item()))

train_mask = torch.zeros(n, dtype=torch.bool)
for c in range(n_classes):
    train_mask[c * per_class:c * per_class + 8] = True

model = GCN(adj, n_features, hidden, n_classes)
print('buffers:', [name for name, _ in model.named_buffers()])
print('state dict keys:', list(model.state_dict()))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)


def evaluate(model):
    model.eval()
    with torch.no_grad():
        out = model(features)
        loss = F.cross_entropy(out[~train_mask], labels[~train_mask])
        correct = (out.argmax(1) == labels)[~train_mask].sum()
    return out, loss.item(), correct.item()


for step in range(1, 61):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(features)[train_mask], labels[train_mask])
    loss.backward()
    optimizer.step()
    if step % 10 == 0:
        _, test_loss, correct = evaluate(model)
        print('step {:2d} | train loss {:.4f} | test loss {:.4f} | test accuracy {}/{}'.format(
            step, loss.item(), test_loss, correct, int((~train_mask).sum())))

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
state = torch.load(buffer)
print('saved adjacency:', state['adj'].layout, 'nnz', state['adj']._nnz())
fresh = GCN(normalized_adjacency(src[:0], dst[:0], n)[0], n_features, hidden, n_classes)
fresh.load_state_dict(state)
print('loaded adjacency nnz', fresh.adj._nnz(), 'equal',
      torch.equal(fresh.adj.to_dense(), model.adj.to_dense()))
out, _, _ = evaluate(model)
out2, test_loss, correct = evaluate(fresh)
print('reloaded: same predictions', torch.equal(out.argmax(1), out2.argmax(1)),
      '| test loss {:.4f}'.format(test_loss))
