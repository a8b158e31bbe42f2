"""Metric learning with online semi-hard triplet mining (Schroff et al., 2015, "FaceNet"),
written for the xpnn tests on made-up clusters: 12 classes, each a Gaussian blob in 8
dimensions pushed through a fixed random nonlinear map into 24 noisy features.

An MLP embeds the features onto the unit sphere (``F.normalize``). Each batch holds P
classes x K samples. All pairwise distances come from ``torch.cdist``; masks of positives
(equal labels, off the diagonal) and negatives come from label equality. For every
anchor-positive pair the semi-hard negative is the closest negative farther than the
positive and within the margin (``torch.where`` into +inf, ``amin(dim=-1)``); where none
exists, the farthest negative that is not farther than the positive (``torch.where`` into
-inf, ``amax(dim=-1)``), and failing that the farthest negative of the anchor. The loss is
relu(d_ap - d_an + margin) averaged over the anchor-positive pairs. Embedding quality: recall@1 on a held-out set by ``topk`` of the cosine
similarities with the diagonal filled by -inf, and the fraction of triplets still active.

    python tests/pytorch_programs/tutorials/contrastive_siamese_triplet_mining.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

N_CLASSES, LATENT, FEATURES = 12, 8, 24
centres = rng.normal(0.0, 1.0, (N_CLASSES, LATENT))
mix = rng.normal(0.0, 1.0 / np.sqrt(LATENT), (LATENT, FEATURES))


def make_set(per_class):
    labels = np.repeat(np.arange(N_CLASSES), per_class)
    z = centres[labels] + rng.normal(0.0, 0.45, (len(labels), LATENT))
    x = np.tanh(z @ mix) + rng.normal(0.0, 0.05, (len(labels), FEATURES))
    return torch.tensor(x, dtype=torch.float32), torch.from_numpy(labels)


class Embedder(nn.Module):
    def __init__(self, d_in, d_out=16, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, d_out))

    def forward(self, x):
        return F.normalize(self.net(x), p=2, dim=1)


def semi_hard_triplet_loss(emb, labels, margin=0.2):
    d = torch.cdist(emb, emb)                                   # (B, B)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    pos_mask = same & ~eye                                      # (a, p)
    neg_mask = ~same                                            # (a, n)
    d_ap = d[:, :, None]                                        # (a, p, 1)
    d_an = d[:, None, :]                                        # (a, 1, n)
    semi = neg_mask[:, None, :] & (d_an > d_ap) & (d_an < d_ap + margin)
    semi_hard = torch.where(semi, d_an, torch.full_like(d_an, float('inf'))).amin(dim=-1)
    easy_or_hard = neg_mask[:, None, :] & (d_an <= d_ap)
    hardest = torch.where(easy_or_hard, d_an,
                          torch.full_like(d_an, float('-inf'))).amax(dim=-1)
    far = torch.where(neg_mask, d, torch.full_like(d, float('-inf'))).amax(dim=-1)
    chosen = torch.where(torch.isfinite(semi_hard), semi_hard,
                         torch.where(torch.isfinite(hardest), hardest,
                                     far[:, None].expand_as(hardest)))
    losses = F.relu(d - chosen + margin)[pos_mask]
    active = (losses > 0).float().mean()
    return losses.mean(), active


def recall_at_1(emb, labels):
    sim = emb @ emb.t()
    sim.fill_diagonal_(float('-inf'))
    _, nearest = sim.topk(1, dim=1)
    return (labels[nearest[:, 0]] == labels).float().mean().item()


train_x, train_y = make_set(40)
test_x, test_y = make_set(20)
model = Embedder(FEATURES).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
P, K = 6, 8

model.eval()
with torch.no_grad():
    emb = model(test_x.to(device))
    print(f'untrained | recall@1 {recall_at_1(emb, test_y.to(device)):.4f} | '
          f'norms {emb.norm(dim=1).mean():.4f}')

by_class = [np.flatnonzero(train_y.numpy() == c) for c in range(N_CLASSES)]
for epoch in range(1, 7):
    model.train()
    total, active_total, steps = 0.0, 0.0, 10
    for _ in range(steps):
        classes = rng.choice(N_CLASSES, P, replace=False)
        idx = np.concatenate([rng.choice(by_class[c], K, replace=False) for c in classes])
        x, y = train_x[idx].to(device), train_y[idx].to(device)
        loss, active = semi_hard_triplet_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        active_total += active.item()
    model.eval()
    with torch.no_grad():
        emb = model(test_x.to(device))
        test_loss, _ = semi_hard_triplet_loss(emb, test_y.to(device))
        r1 = recall_at_1(emb, test_y.to(device))
    print(f'epoch {epoch} | loss {total / steps:.4f} | active {active_total / steps:.3f} | '
          f'test loss {test_loss.item():.4f} | recall@1 {r1:.4f}')
