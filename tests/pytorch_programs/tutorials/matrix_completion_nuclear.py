"""Low-rank matrix completion, written for the xpnn tests: a made-up rank-3 matrix of which
30% of the entries are seen, completed two ways, and scored by the RMSE on held-out entries.

(a) Proximal gradient on the nuclear-norm-regularised least squares (soft-impute): a
gradient step on the observed entries, then the proximal step of the nuclear norm, singular
value soft-thresholding: ``torch.linalg.svd(X, full_matrices=False)``, the singular values
shrunk by ``torch.clamp(S - lam, min=0)`` and put back by ``U @ torch.diag_embed(S) @ Vh``.
The threshold is continued down a geometric ladder; the rank is the count of nonzero
singular values.

(b) A factorized model: ``nn.Embedding(..., sparse=True)`` row and column factors plus
sparse per-row and per-column biases, trained on shuffled minibatches of the observed
entries (``TensorDataset`` + ``DataLoader(shuffle=True)``) by ``torch.optim.SparseAdam``,
whose gradients arrive as sparse tensors (``weight.grad.is_sparse``).

    python tests/pytorch_programs/tutorials/matrix_completion_nuclear.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_rows, n_cols, true_rank = 40, 30, 3
U0 = rng.normal(size=(n_rows, true_rank)) / np.sqrt(true_rank)
V0 = rng.normal(size=(n_cols, true_rank))
full = torch.tensor(U0 @ V0.T + 0.05 * rng.normal(size=(n_rows, n_cols)),
                    dtype=torch.float32, device=device)
seen = torch.tensor(rng.random((n_rows, n_cols)) < 0.3, device=device)
held = ~seen
print(f'matrix {tuple(full.shape)}, {seen.sum().item()} entries seen, '
      f'{held.sum().item()} held out')


def rmse(estimate, where):
    return torch.sqrt(((estimate - full)[where] ** 2).mean()).item()


# -- (a) proximal gradient with singular value soft-thresholding ---------------------------
observed = torch.where(seen, full, torch.zeros_like(full))
X = torch.zeros_like(full)
step = 1.0
lam = torch.linalg.svd(observed, full_matrices=False).S[0].item() / 2
for it in range(1, 121):
    grad = torch.where(seen, X - full, torch.zeros_like(X))
    Z = X - step * grad
    U, S, Vh = torch.linalg.svd(Z, full_matrices=False)
    S = torch.clamp(S - step * lam, min=0)
    X = U @ torch.diag_embed(S) @ Vh
    if it % 20 == 0:
        rank = (S > 0).sum().item()
        print(f'prox {it:3d} | lam {lam:.3f} | rank {rank} | train rmse {rmse(X, seen):.4f} '
              f'| test rmse {rmse(X, held):.4f}')
    lam = max(lam * 0.93, 0.5)

# the batched form: diag_embed of a (2, k) stack against the per-matrix products
S2 = torch.stack([S, S.flip(0)])
batched = U @ torch.diag_embed(S2) @ Vh
print('batched diag_embed agrees:', torch.allclose(batched[0], X, atol=1e-5),
      tuple(torch.diag_embed(S2).shape))
prox_test = rmse(X, held)


# -- (b) factorized model with sparse embeddings under SparseAdam -------------------------
class Factorized(nn.Module):
    def __init__(self, n_rows, n_cols, rank):
        super().__init__()
        self.rows = nn.Embedding(n_rows, rank, sparse=True)
        self.cols = nn.Embedding(n_cols, rank, sparse=True)
        self.row_bias = nn.Embedding(n_rows, 1, sparse=True)
        self.col_bias = nn.Embedding(n_cols, 1, sparse=True)
        for emb in (self.rows, self.cols):
            nn.init.normal_(emb.weight, std=0.3)
        for emb in (self.row_bias, self.col_bias):
            nn.init.zeros_(emb.weight)

    def forward(self, i, j):
        dot = (self.rows(i) * self.cols(j)).sum(dim=-1)
        return dot + self.row_bias(i).squeeze(-1) + self.col_bias(j).squeeze(-1)


model = Factorized(n_rows, n_cols, 4).to(device)
optimizer = torch.optim.SparseAdam(model.parameters(), lr=0.05)
train_idx = seen.nonzero()
test_idx = held.nonzero()
train_val = full[seen]
test_val = full[held]
loader = DataLoader(TensorDataset(train_idx[:, 0], train_idx[:, 1], train_val),
                    batch_size=64, shuffle=True)
for epoch in range(1, 31):
    total = 0.0
    for i, j, value in loader:
        loss = ((model(i, j) - value) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(value)
    if epoch == 1:
        g = model.rows.weight.grad
        print('sparse gradient:', g.is_sparse, tuple(g.shape))
    if epoch % 5 == 0:
        with torch.no_grad():
            pred = model(test_idx[:, 0], test_idx[:, 1])
            test = torch.sqrt(((pred - test_val) ** 2).mean()).item()
        print(f'factor epoch {epoch:2d} | train mse {total / len(train_val):.4f} '
              f'| test rmse {test:.4f}')

print(f'held-out rmse: proximal {prox_test:.4f}, factorized {test:.4f}, '
      f'predicting zero {torch.sqrt((test_val ** 2).mean()).item():.4f}')
