"""Learning to sort with the NeuralSort relaxation (Grover et al., 2019, "Stochastic
Optimization of Sorting Networks via Continuous Relaxations"), written for the xpnn tests on
made-up data.

Each example is a set of n items with 3 features; the true order sorts them by a hidden
nonlinear function of the features. A small MLP scores each item, and NeuralSort turns the
scores s into a row-stochastic relaxed permutation matrix:
P[i] = softmax(((n + 1 - 2 i) s - A 1) / tau), with A = |s_j - s_k| the pairwise ``abs``
differences. The one-hot target permutation is built by ``scatter_`` from ``argsort`` of the
true keys; the loss is the rows' cross-entropy. A straight-through hard permutation
(``F.one_hot(argmax) - soft.detach() + soft``) sorts an attached value per item, and the
sorted values are regressed too. Accuracy: whole permutations and positions right, by
``argsort`` of the scores; the temperature is annealed.

    python tests/pytorch_programs/tutorials/neural_sort.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
rng = np.random.default_rng(7)

n_items, n_feat = 6, 3


def make_sets(count):
    x = rng.standard_normal((count, n_items, n_feat)).astype(np.float32)
    key = x[..., 0] + 0.5 * np.tanh(2 * x[..., 1]) - 0.3 * x[..., 2] ** 2
    return torch.from_numpy(x), torch.from_numpy(key.astype(np.float32))


def neural_sort(s, tau):
    """s: (B, n) scores -> (B, n, n) relaxed permutation sorting s in descending order."""
    n = s.shape[1]
    pairwise = (s.unsqueeze(-1) - s.unsqueeze(-2)).abs()              # (B, n, n)
    b = pairwise.sum(dim=-1)                                          # A 1
    scaling = (n + 1 - 2 * (torch.arange(n) + 1)).float()             # (n,)
    logits = scaling.view(1, n, 1) * s.unsqueeze(1) - b.unsqueeze(1)  # (B, n, n)
    return F.softmax(logits / tau, dim=-1)


def hard_permutation(soft):
    hard = F.one_hot(soft.argmax(dim=-1), soft.shape[-1]).float()
    return hard - soft.detach() + soft


class Scorer(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_feat, hidden), nn.Tanh(),
                                 nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def target_permutation(key):
    perm = torch.argsort(key, dim=-1, descending=True)
    onehot = torch.zeros(key.shape[0], n_items, n_items)
    onehot.scatter_(2, perm.unsqueeze(-1), 1.0)
    return perm, onehot


train_x, train_key = make_sets(512)
test_x, test_key = make_sets(256)
test_perm, test_onehot = target_permutation(test_key)

model = Scorer()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

s = model(test_x[:2])
p = neural_sort(s, 1.0)
print("relaxed permutation rows sum to 1:", torch.allclose(p.sum(-1), torch.ones(2, n_items)))
print("its argmax sorts the scores:",
      torch.equal(p.argmax(-1), torch.argsort(s, dim=-1, descending=True)))

batch = 64
for epoch in range(1, 9):
    tau = max(0.2, 1.0 * 0.7 ** (epoch - 1))
    perm = torch.from_numpy(rng.permutation(len(train_x)))
    total_ce = total_st = 0.0
    for i in range(0, len(train_x), batch):
        idx = perm[i:i + batch]
        x, key = train_x[idx], train_key[idx]
        _, onehot = target_permutation(key)
        soft = neural_sort(model(x), tau)
        ce = -(onehot * torch.log(soft + 1e-9)).sum(-1).mean()
        values = key.unsqueeze(-1)                                    # sort the keys
        sorted_st = (hard_permutation(soft) @ values).squeeze(-1)
        sorted_true = (onehot @ values).squeeze(-1)
        st = F.mse_loss(sorted_st, sorted_true)
        loss = ce + 0.5 * st
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_ce += ce.item() * len(idx)
        total_st += st.item() * len(idx)
    with torch.no_grad():
        s = model(test_x)
        soft = neural_sort(s, tau)
        test_ce = -(test_onehot * torch.log(soft + 1e-9)).sum(-1).mean().item()
        pred = torch.argsort(s, dim=-1, descending=True)
        whole = (pred == test_perm).all(dim=-1).float().mean().item()
        positions = (pred == test_perm).float().mean().item()
    print(f"epoch {epoch} tau {tau:.3f} | train ce {total_ce / len(train_x):.4f} "
          f"| st mse {total_st / len(train_x):.4f} | test ce {test_ce:.4f} "
          f"| whole perms {whole:.4f} | positions {positions:.4f}")
