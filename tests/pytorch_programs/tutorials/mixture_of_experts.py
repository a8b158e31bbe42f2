"""A mixture-of-experts classifier, written for the xpnn tests: 1200 made-up points of 12
features in four clusters, each cluster labelled into 3 classes by a linear rule of its
own, so that experts which specialise in clusters help.

The MoE layer routes each token to its top-2 experts (router softmax, ``torch.topk``,
renormalised gates); each expert gathers its tokens either as Mixtral's code does
(``F.one_hot(...).permute``, one-argument ``torch.where``, ``x[None, rows]``) or with a
boolean mask, ``nonzero`` and ``index_select``, and its weighted outputs are combined with ``index_add_``. A Switch
Transformer load-balancing loss (experts' top-1 fractions from ``F.one_hot(...).float()
.mean(0)`` times their mean router probabilities) is added to the cross-entropy; the
experts' loads are counted with ``torch.bincount``.

    python tests/pytorch_programs/tutorials/mixture_of_experts.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(14)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_points, n_train, n_features, n_clusters, n_classes = 1200, 1000, 12, 4, 3
centres = 3.0 * torch.randn(n_clusters, n_features)
rules = torch.randn(n_clusters, n_features, n_classes)
cluster = torch.arange(n_points) % n_clusters
inputs = centres[cluster] + torch.randn(n_points, n_features)
targets = torch.einsum('nf,nfc->nc', inputs - centres[cluster], rules[cluster]).argmax(dim=1)
print(f'classes {torch.bincount(targets).tolist()}, clusters '
      f'{torch.bincount(cluster).tolist()}')

train_loader = DataLoader(TensorDataset(inputs[:n_train], targets[:n_train]), batch_size=100,
                          shuffle=True)
test_inputs, test_targets = inputs[n_train:].to(device), targets[n_train:].to(device)


class Expert(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class MoE(nn.Module):
    def __init__(self, dim, hidden, n_experts=4, k=2):
        super().__init__()
        self.n_experts, self.k = n_experts, k
        self.router = nn.Linear(dim, n_experts, bias=False)
        self.experts = nn.ModuleList([Expert(dim, hidden) for _ in range(n_experts)])

    def forward(self, x):
        probs = self.router(x).softmax(dim=-1)
        gates, chosen = torch.topk(probs, k=self.k, dim=-1)
        gates = gates / gates.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(x)
        expert_mask = F.one_hot(chosen, num_classes=self.n_experts).permute(2, 1, 0)
        for e, expert in enumerate(self.experts):
            if e % 2 == 0:
                # Mixtral's way: the (slot, token) pairs routed to expert e
                slot, rows = torch.where(expert_mask[e])
                if rows.numel() == 0:
                    continue
                tokens = x[None, rows].reshape(-1, x.shape[-1])
                gate = gates[rows, slot, None]
            else:
                hit = chosen == e
                rows = hit.any(dim=-1).nonzero(as_tuple=True)[0]
                if rows.numel() == 0:
                    continue
                tokens = x.index_select(0, rows)
                gate = (gates * hit).sum(dim=-1).index_select(0, rows).unsqueeze(1)
            out.index_add_(0, rows, gate * expert(tokens))
        top1 = chosen[:, 0]
        fraction = F.one_hot(top1, self.n_experts).float().mean(0)
        aux = self.n_experts * (fraction * probs.mean(0)).sum()
        return out, aux, torch.bincount(top1, minlength=self.n_experts)


class MoEClassifier(nn.Module):
    def __init__(self, n_in, n_out, dim=32):
        super().__init__()
        self.embed = nn.Linear(n_in, dim)
        self.moe = MoE(dim, 2 * dim)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_out)

    def forward(self, x):
        h = F.relu(self.embed(x))
        moe_out, aux, load = self.moe(h)
        return self.head(self.norm(h + moe_out)), aux, load


model = MoEClassifier(n_features, n_classes).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
aux_weight = 0.01

for epoch in range(1, 9):
    model.train()
    total, total_aux, load = 0.0, 0.0, torch.zeros(4, dtype=torch.long)
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        logits, aux, batch_load = model(xb)
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad()
        (loss + aux_weight * aux).backward()
        optimizer.step()
        total += loss.item()
        total_aux += aux.item()
        load += batch_load.cpu()
    model.eval()
    with torch.no_grad():
        logits, aux, _ = model(test_inputs)
        test_loss = F.cross_entropy(logits, test_targets).item()
        accuracy = (logits.argmax(-1) == test_targets).float().mean().item()
    print(f'epoch {epoch} | loss {total / len(train_loader):.4f} | aux '
          f'{total_aux / len(train_loader):.4f} | load {load.tolist()} | test loss '
          f'{test_loss:.4f} | test accuracy {accuracy:.3f}')

with torch.no_grad():
    probs = model.moe.router(F.relu(model.embed(test_inputs))).softmax(-1)
    top1 = probs.argmax(-1)
    test_cluster = cluster[n_train:].to(device)
    table = torch.zeros(n_clusters, 4, dtype=torch.long)
    table.index_put_((test_cluster, top1), torch.ones_like(top1), accumulate=True)
print('top-1 expert per cluster (rows: clusters):')
print(table)
