"""Poincare embeddings (Nickel and Kiela, 2017, "Poincare Embeddings for Learning
Hierarchical Representations") of a small made-up hierarchy, written for the xpnn tests
after the paper's reference training loop.

The hierarchy is a tree of 40 nodes (a root, 3 children, 9 grandchildren, 27 leaves); the
training pairs are its transitive closure (every ancestor with every descendant). The
embedding is an ``nn.Embedding(sparse=True)`` in float64 (as the reference code keeps it),
initialised ``uniform_(-1e-3, 1e-3)`` near the origin of the unit ball. The distance is the
hyperbolic one, arcosh(1 + 2 |u - v|^2 / ((1 - |u|^2)(1 - |v|^2))), by ``torch.acosh`` of an
argument ``clamp(min=1 + eps)``. Each pair's loss is the softmax cross-entropy of -d(u, v)
against -d(u, v') for negatives v' drawn by ``torch.randint``. The optimiser is Riemannian
SGD by hand under ``torch.no_grad()``: the Euclidean gradient (a sparse tensor) scaled by
the inverse metric (1 - |x|^2)^2 / 4 (a dense column times it: sparse), a dense ``sub_`` of
it, and rows pushed back inside the ball by ``torch.renorm``. The mean rank of the true
edges (each pair's distance ranked among the non-neighbours of its first node), the loss
and the norms per depth (the root near the centre, leaves near the boundary) are printed.

    python tests/pytorch_programs/tutorials/poincare_embeddings.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
EPS = 1e-5  # rows stay inside the ball of radius 1 - EPS
ACOSH_EPS = 1e-10  # acosh's argument is kept above 1, where its gradient is finite

# the tree: node 0 the root, each node of depth < 3 with 3 children
parents, depth = [-1], [0]
frontier = [0]
for level in range(1, 4):
    nxt = []
    for p in frontier:
        for _ in range(3):
            parents.append(p)
            depth.append(level)
            nxt.append(len(parents) - 1)
    frontier = nxt
N = len(parents)
closure = []
for v in range(N):
    a = parents[v]
    while a >= 0:
        closure.append((a, v))
        a = parents[a]
edges = torch.tensor(closure, dtype=torch.long, device=device)
depth = torch.tensor(depth, device=device)
adjacent = torch.zeros(N, N, dtype=torch.bool, device=device)
adjacent[edges[:, 0], edges[:, 1]] = True
adjacent = adjacent | adjacent.t()
print(f'{N} nodes, {len(closure)} closure edges, depth counts {torch.bincount(depth).tolist()}')


def poincare_distance(u, v):
    sq = ((u - v) ** 2).sum(-1)
    alpha = 1 - (u ** 2).sum(-1)
    beta = 1 - (v ** 2).sum(-1)
    x = 1 + 2 * sq / (alpha * beta)
    return torch.acosh(x.clamp(min=1 + ACOSH_EPS))


class PoincareEmbedding(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.emb = nn.Embedding(n, dim, sparse=True, dtype=torch.float64)
        nn.init.uniform_(self.emb.weight, -1e-3, 1e-3)

    def forward(self, u, v):
        """u: (B,), v: (B, 1 + negatives) -> distances (B, 1 + negatives)."""
        eu = self.emb(u).unsqueeze(1).expand(-1, v.shape[1], -1)
        return poincare_distance(eu, self.emb(v))


def rsgd_step(weight, lr):
    with torch.no_grad():
        sq = (weight ** 2).sum(-1, keepdim=True)
        # the gradient is sparse: the dense scale times it is sparse, the update dense
        weight.sub_(lr * ((1 - sq) ** 2 / 4) * weight.grad)
        weight.copy_(torch.renorm(weight, 2, 0, 1 - EPS))
        weight.grad.zero_()


def evaluate(model):
    """The mean rank of the true pairs and their loss against every other node: each pair's
    own distance against every node that is neither u nor a neighbour of u."""
    with torch.no_grad():
        w = model.emb.weight
        d = poincare_distance(w.unsqueeze(1), w.unsqueeze(0))
        u, v = edges[:, 0], edges[:, 1]
        rows = torch.arange(len(u), device=device)
        others = ~adjacent[u]
        others[rows, u] = False
        closer = (d[u] < d[u, v].unsqueeze(1)) & others
        rank = (closer.sum(1).double() + 1).mean().item()
        candidates = others.clone()
        candidates[rows, v] = True
        logits = (-d[u]).masked_fill(~candidates, float('-inf'))
        return rank, F.cross_entropy(logits, v).item()


def norms_by_depth(model):
    with torch.no_grad():
        norms = model.emb.weight.norm(dim=1)
        return [norms[depth == k].mean().item() for k in range(4)]


model = PoincareEmbedding(N, 2).to(device)
# the distance from the origin is 2 artanh |x|, and the distance is symmetric
x = torch.tensor([[0.3, -0.4], [0.1, 0.2]], dtype=torch.float64, device=device)
o = torch.zeros_like(x)
from_origin = torch.allclose(poincare_distance(o, x), 2 * torch.atanh(x.norm(dim=1)))
symmetric = torch.allclose(poincare_distance(x, x.flip(0)), poincare_distance(x.flip(0), x))
print(f'd(0, x) = 2 artanh|x|: {from_origin} | symmetric: {symmetric}')
with torch.no_grad():
    true_d = model(edges[:, 0], edges[:, 1:])
rank, full_loss = evaluate(model)
print(f'untrained | mean true-pair distance {true_d.mean().item():.6f} | mean rank '
      f'{rank:.3f} | full loss {full_loss:.4f} | max norm '
      f'{model.emb.weight.norm(dim=1).max().item():.5f}')

NEG, BATCH = 10, 32
for epoch in range(1, 41):
    lr = 0.1 if epoch <= 10 else 1.0  # the reference code's burn-in at a lower rate
    perm = torch.randperm(len(edges), device=device)
    total = 0.0
    for i in range(0, len(edges), BATCH):
        batch = edges[perm[i:i + BATCH]]
        negatives = torch.randint(0, N, (len(batch), NEG), device=device)
        v = torch.cat([batch[:, 1:], negatives], dim=1)
        dist = model(batch[:, 0], v)
        # the true pair is class 0 among itself and the negatives
        loss = F.cross_entropy(-dist, torch.zeros(len(batch), dtype=torch.long, device=device))
        loss.backward()
        rsgd_step(model.emb.weight, lr)
        total += loss.item() * len(batch)
    if epoch % 10 == 0:
        norms = norms_by_depth(model)
        rank, full_loss = evaluate(model)
        print(f'epoch {epoch:2d} | loss {total / len(edges):.4f} | mean rank {rank:.3f} | '
              f'full loss {full_loss:.4f} | norms by depth '
              + ' '.join(f'{n:.3f}' for n in norms))
print(f'inside the ball: {bool((model.emb.weight.norm(dim=1) < 1).all())}')
