"""GATv2 with edge features (Brody et al., 2022, "How Attentive are Graph Attention
Networks?"), written for the xpnn tests in plain PyTorch, for node classification on a made-up
planted-partition graph: 4 communities of 30 nodes, dense inside, sparse across, node
features that only weakly tell the community apart, and two edge features (a noisy
"same community" indicator and a random weight).

The adjacency is drawn in NumPy, kept upper-triangular by ``torch.triu``, symmetrised, given
self loops, and turned into ``edge_index`` by ``torch.nonzero(...).t()``. A GATv2 layer
scores each edge j -> i by a^T LeakyReLU(W_l x_j + W_r x_i + W_e e_ij) per head
(``index_select`` of the endpoints), normalises the scores over each node's incoming edges by
a softmax written with ``scatter_reduce(reduce="amax", include_self=False)`` for the maximum
and ``index_add_`` for the denominator, applies ``F.dropout`` to the attention, and sums the
messages into the nodes by ``index_add_``. The first layer concatenates its heads, the second
averages them. Adam with weight decay, full-batch, on a train / test split of the nodes.

    python tests/pytorch_programs/tutorials/graph_attention_v2_edge.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

N_COMM, PER, FEATS = 4, 30, 12
N = N_COMM * PER
labels = torch.arange(N_COMM).repeat_interleave(PER)
same = (labels[:, None] == labels[None, :]).numpy()
probs = np.where(same, 0.2, 0.02)
adj = torch.from_numpy(rng.random((N, N)) < probs)
adj = torch.triu(adj, diagonal=1)
adj = adj | adj.t() | torch.eye(N, dtype=torch.bool)
edge_index = torch.nonzero(adj).t()                       # (2, E): row = target, col = source
dst, src = edge_index[0], edge_index[1]
E = edge_index.shape[1]
same_edge = (labels[src] == labels[dst]).float()
noisy = torch.where(torch.from_numpy(rng.random(E) < 0.8), same_edge, 1 - same_edge)
edge_attr = torch.stack([noisy, torch.from_numpy(rng.random(E).astype(np.float32))], dim=1)
means = torch.from_numpy(rng.normal(0, 1, (N_COMM, FEATS)).astype(np.float32))
x = means[labels] * 0.4 + torch.from_numpy(rng.normal(0, 1, (N, FEATS)).astype(np.float32))
perm = torch.from_numpy(rng.permutation(N))
train_idx, test_idx = perm[:48], perm[48:]
print(f'nodes {N}, edges {E} (self loops {int((src == dst).sum())}), '
      f'homophily {same_edge.mean():.3f}')


class GATv2Layer(nn.Module):
    def __init__(self, d_in, d_out, heads, edge_dim, concat=True, dropout=0.3):
        super().__init__()
        self.heads, self.d_out, self.concat, self.dropout = heads, d_out, concat, dropout
        self.lin_l = nn.Linear(d_in, heads * d_out)
        self.lin_r = nn.Linear(d_in, heads * d_out)
        self.lin_e = nn.Linear(edge_dim, heads * d_out, bias=False)
        self.att = nn.Parameter(torch.empty(1, heads, d_out))
        self.bias = nn.Parameter(torch.zeros(heads * d_out if concat else d_out))
        nn.init.xavier_uniform_(self.att)

    def forward(self, x, edge_index, edge_attr):
        dst, src = edge_index
        H, C = self.heads, self.d_out
        x_l = self.lin_l(x).view(-1, H, C)
        x_r = self.lin_r(x).view(-1, H, C)
        e = self.lin_e(edge_attr).view(-1, H, C)
        msg = x_l.index_select(0, src)
        z = F.leaky_relu(msg + x_r.index_select(0, dst) + e, 0.2)
        score = (z * self.att).sum(-1)                                  # (E, H)
        n = x.shape[0]
        smax = torch.zeros(n, H, device=x.device).scatter_reduce(
            0, dst[:, None].expand(-1, H), score, reduce='amax', include_self=False)
        ex = torch.exp(score - smax.index_select(0, dst))
        denom = torch.zeros(n, H, device=x.device).index_add_(0, dst, ex)
        alpha = ex / denom.index_select(0, dst)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = torch.zeros(n, H, C, device=x.device).index_add_(0, dst, alpha[..., None] * msg)
        out = out.reshape(n, H * C) if self.concat else out.mean(dim=1)
        return out + self.bias, alpha


class GATv2(nn.Module):
    def __init__(self, d_in, hidden, n_classes, heads=4, edge_dim=2):
        super().__init__()
        self.conv1 = GATv2Layer(d_in, hidden, heads, edge_dim, concat=True)
        self.conv2 = GATv2Layer(hidden * heads, n_classes, heads, edge_dim, concat=False)

    def forward(self, x, edge_index, edge_attr):
        x = F.dropout(x, p=0.3, training=self.training)
        h, _ = self.conv1(x, edge_index, edge_attr)
        h = F.dropout(F.elu(h), p=0.3, training=self.training)
        out, alpha = self.conv2(h, edge_index, edge_attr)
        return out, alpha


model = GATv2(FEATS, 8, N_COMM).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, weight_decay=5e-4)
x, edge_index, edge_attr, labels = (t.to(device) for t in (x, edge_index, edge_attr, labels))


def evaluate():
    model.eval()
    with torch.no_grad():
        out, alpha = model(x, edge_index, edge_attr)
        loss = F.cross_entropy(out[test_idx], labels[test_idx]).item()
        correct = (out[test_idx].argmax(1) == labels[test_idx]).sum().item()
        sums = torch.zeros(N, alpha.shape[1]).index_add_(0, edge_index[0], alpha)
        on_same = alpha[same_edge.bool()].sum().item() / alpha.sum().item()
    model.train()
    return loss, correct, sums, on_same


loss, correct, sums, on_same = evaluate()
print(f'untrained | test loss {loss:.4f} | correct {correct}/{len(test_idx)} | '
      f'attention sums to 1: {torch.allclose(sums, torch.ones_like(sums))} | '
      f'attention on same-community edges {on_same:.3f}')
for epoch in range(1, 81):
    out, _ = model(x, edge_index, edge_attr)
    loss = F.cross_entropy(out[train_idx], labels[train_idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    train_loss = loss.item()
    if epoch % 10 == 0:
        loss, correct, _, on_same = evaluate()
        print(f'epoch {epoch:3d} | train loss {train_loss:.4f} | test loss {loss:.4f} | '
              f'correct {correct}/{len(test_idx)} | attention on same-community edges '
              f'{on_same:.3f}')
