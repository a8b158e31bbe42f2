"""Momentum contrast (He et al., 2020, "Momentum Contrast for Unsupervised Visual
Representation Learning"), written small for the xpnn tests after the paper's pseudo-code and
its reference implementation, on made-up feature vectors instead of images.

The data are 8 hidden classes, each a random prototype in 32 dimensions seen through noise;
two augmented views of a batch (Gaussian jitter by ``torch.randn_like``, feature dropout by
``F.dropout``) go through a query encoder and a key encoder. The key encoder is a
``copy.deepcopy`` of the query encoder with ``requires_grad_(False)``, moved towards it under
``torch.no_grad`` by ``pk.data.mul_(m).add_(pq.data, alpha=1 - m)``. The negatives are a
queue of past keys kept as a buffer (``F.normalize(torch.randn(dim, K), dim=0)`` at the
start) with an enqueue pointer (an int64 buffer), written by slice assignment. The logits
are ``torch.einsum("nc,nc->n")`` positives and ``("nc,ck->nk")`` negatives, joined by
``torch.cat`` and divided by a temperature, under ``nn.CrossEntropyLoss`` against
``torch.zeros(N, dtype=torch.long)``. A k-nearest-neighbour classifier on the normalized
features measures the representation before and after training; at the end the momentum
update is checked against the ``lerp_`` spelling.

    python tests/pytorch_programs/tutorials/moco.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(1)
rng = np.random.default_rng(1)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, in_dim = 8, 32
prototypes = rng.normal(size=(n_classes, in_dim)).astype(np.float32)


def make_set(count):
    labels = rng.integers(0, n_classes, size=count)
    points = prototypes[labels] + 1.6 * rng.normal(size=(count, in_dim)).astype(np.float32)
    return torch.from_numpy(points.astype(np.float32)), torch.from_numpy(labels)


train_x, train_y = make_set(512)
test_x, test_y = make_set(256)
loader = DataLoader(TensorDataset(train_x), batch_size=64, shuffle=True, drop_last=True)


def augment(x):
    return F.dropout(x + 0.5 * torch.randn_like(x), p=0.2, training=True)


class Encoder(nn.Module):
    def __init__(self, dim=16, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, dim))

    def forward(self, x):
        return self.net(x)


class MoCo(nn.Module):
    def __init__(self, dim=16, K=320, m=0.99, T=0.1):
        super().__init__()
        self.K, self.m, self.T = K, m, T
        self.encoder_q = Encoder(dim)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        for param_k in self.encoder_k.parameters():
            param_k.requires_grad_(False)
        self.register_buffer('queue', F.normalize(torch.randn(dim, K), dim=0))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def _momentum_update_key_encoder(self):
        for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            param_k.data.mul_(self.m).add_(param_q.data, alpha=1 - self.m)

    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys):
        batch_size = keys.shape[0]
        ptr = int(self.queue_ptr)
        assert self.K % batch_size == 0
        self.queue[:, ptr:ptr + batch_size] = keys.T
        ptr = (ptr + batch_size) % self.K
        self.queue_ptr[0] = ptr

    def forward(self, im_q, im_k=None):
        q = F.normalize(self.encoder_q(im_q), dim=1)
        if im_k is None:  # features for evaluation
            return q
        with torch.no_grad():
            self._momentum_update_key_encoder()
            k = F.normalize(self.encoder_k(im_k), dim=1)
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1) / self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        self._dequeue_and_enqueue(k)
        return logits, labels


@torch.no_grad()
def knn_accuracy(model, k=10):
    model.eval()
    bank = model(train_x.to(device))
    feats = model(test_x.to(device))
    sim = feats @ bank.T
    top_sim, top_idx = sim.topk(k, dim=1)
    votes = torch.zeros(len(test_x), n_classes, device=device)
    votes.scatter_add_(1, train_y.to(device)[top_idx], (top_sim / 0.1).exp())
    model.train()
    return (votes.argmax(dim=1) == test_y.to(device)).float().mean().item()


model = MoCo().to(device)
print(f'queue {tuple(model.queue.shape)}, column norms {model.queue.norm(dim=0)[:3]}, '
      f'ptr {model.queue_ptr}')
print(f'key encoder trainable parameters: '
      f'{sum(p.numel() for p in model.encoder_k.parameters() if p.requires_grad)}')
print(f'untrained | knn accuracy {knn_accuracy(model):.3f}')
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.05,
                            momentum=0.9, weight_decay=1e-4)
for epoch in range(1, 9):
    total, batches = 0.0, 0
    for (x,) in loader:
        x = x.to(device)
        logits, labels = model(augment(x), augment(x))
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    print(f'epoch {epoch} | contrastive loss {total / batches:.4f} | '
          f'ptr {int(model.queue_ptr)} | knn accuracy {knn_accuracy(model):.3f}')

drift = max((pq - pk).abs().max().item()
            for pq, pk in zip(model.encoder_q.parameters(), model.encoder_k.parameters()))
print(f'largest query/key parameter difference {drift:.4f}')
print(f'queue columns still unit norm: '
      f'{torch.allclose(model.queue.norm(dim=0), torch.ones(model.K), atol=1e-5)}')

# the same momentum update by lerp_: param_k + (1 - m) * (param_q - param_k)
keys_a = copy.deepcopy(model.encoder_k)
keys_b = copy.deepcopy(model.encoder_k)
with torch.no_grad():
    for pq, pa, pb in zip(model.encoder_q.parameters(), keys_a.parameters(),
                          keys_b.parameters()):
        pa.data.mul_(model.m).add_(pq.data, alpha=1 - model.m)
        pb.lerp_(pq, 1 - model.m)
gap = max((pa - pb).abs().max().item() for pa, pb in zip(keys_a.parameters(),
                                                        keys_b.parameters()))
print(f'mul_/add_ and lerp_ updates agree: {gap < 1e-6}')
