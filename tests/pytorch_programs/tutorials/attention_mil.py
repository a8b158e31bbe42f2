"""Attention-based deep multiple instance learning (Ilse, Tomczak and Welling, 2018,
"Attention-based Deep Multiple Instance Learning"), written for the xpnn tests after the
paper's MNIST-bags experiment, on made-up bags of feature vectors.

An instance is a 16-dimensional vector drawn around one of 8 cluster centres; a bag holds 4
to 12 instances and is positive when one of them (or more) comes from the key cluster 0.
Bags vary in size, so the data set is a plain list of ``(instances, label)`` pairs and the
``DataLoader`` hands out one bag at a time (batch_size=1), as the reference code does.

The model embeds each instance by an MLP, weighs the instances by gated attention,
w^T (tanh(V h) * sigmoid(U h)), softmax over the instances (dim=0), pools the embeddings by
those weights and classifies the bag; the bag probability is clamped to [1e-5, 1 - 1e-5]
under ``nn.BCELoss``. One step per bag would be noisy: the gradients of 8 bags are
accumulated (each loss divided by 8) before an Adam step. The bag loss and accuracy, and how
often the instance with the most attention in a positive test bag is a key instance, are
printed per epoch.

    python tests/pytorch_programs/tutorials/attention_mil.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

torch.manual_seed(8)
rng = np.random.default_rng(8)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

DIM, N_CLUSTERS, KEY, ACCUMULATE = 16, 8, 0, 8
centres = rng.standard_normal((N_CLUSTERS, DIM)) * 1.2


def make_bags(count):
    """Half the bags positive: 1 to 3 key instances among 4 to 12."""
    bags = []
    for i in range(count):
        size = int(rng.integers(4, 13))
        clusters = rng.integers(1, N_CLUSTERS, size)
        label = i % 2
        if label:
            n_key = int(rng.integers(1, 4))
            clusters[rng.choice(size, n_key, replace=False)] = KEY
        x = centres[clusters] + rng.standard_normal((size, DIM))
        bags.append((torch.tensor(x, dtype=torch.float32),
                     torch.tensor(float(label)),
                     torch.tensor(clusters == KEY)))
    return bags


class GatedAttentionMIL(nn.Module):
    def __init__(self, hidden=32, attention=16):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(DIM, hidden), nn.ReLU(),
                                      nn.Linear(hidden, hidden), nn.ReLU())
        self.attention_V = nn.Linear(hidden, attention)
        self.attention_U = nn.Linear(hidden, attention)
        self.attention_w = nn.Linear(attention, 1)
        self.classifier = nn.Linear(hidden, 1)

    def forward(self, x):
        """x: (K, DIM) instances of one bag -> bag probability (1,), attention (K,)."""
        h = self.features(x)                                           # (K, hidden)
        gate = torch.tanh(self.attention_V(h)) * torch.sigmoid(self.attention_U(h))
        a = torch.softmax(self.attention_w(gate), dim=0)               # (K, 1)
        z = (a * h).sum(dim=0)                                         # (hidden,)
        prob = torch.sigmoid(self.classifier(z))
        return prob.clamp(min=1e-5, max=1 - 1e-5), a.squeeze(1)


train_bags = make_bags(200)
test_bags = make_bags(100)
sizes = torch.tensor([len(b[0]) for b in train_bags])
print(f'{len(train_bags)} training bags, sizes {sizes.min().item()} to {sizes.max().item()}, '
      f'mean {sizes.float().mean().item():.2f}')

model = GatedAttentionMIL().to(device)
criterion = nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.9, 0.999),
                             weight_decay=1e-4)
loader = DataLoader(train_bags, batch_size=1, shuffle=True)


def evaluate():
    model.eval()
    total, correct, hits, positives = 0.0, 0, 0, 0
    with torch.no_grad():
        for x, y, is_key in test_bags:
            x, y = x.to(device), y.to(device)
            prob, a = model(x)
            total += criterion(prob, y.view(1)).item()
            correct += int((prob.item() >= 0.5) == bool(y.item()))
            if y.item() == 1:
                positives += 1
                hits += int(is_key[a.argmax().item()])
    model.train()
    return total / len(test_bags), correct / len(test_bags), hits / positives


loss, acc, hit = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {acc:.3f} | top attention on a key '
      f'instance {hit:.3f}')
for epoch in range(1, 7):
    total, correct = 0.0, 0
    optimizer.zero_grad()
    for step, (x, y, _) in enumerate(loader, 1):
        x, y = x.squeeze(0).to(device), y.to(device)   # the loader's batch of one bag
        prob, _ = model(x)
        loss = criterion(prob, y)
        (loss / ACCUMULATE).backward()
        if step % ACCUMULATE == 0:
            optimizer.step()
            optimizer.zero_grad()
        total += loss.item()
        correct += int((prob.item() >= 0.5) == bool(y.item()))
    loss, acc, hit = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | train accuracy '
          f'{correct / len(loader):.3f} | test loss {loss:.4f} | accuracy {acc:.3f} | top '
          f'attention on a key instance {hit:.3f}')

# the attention of one positive test bag, instance by instance
x, y, is_key = test_bags[1]
with torch.no_grad():
    prob, a = model(x.to(device))
print(f'bag of {len(x)}: p = {prob.item():.3f}, key instances '
      f'{is_key.nonzero().flatten().tolist()}, attention {[round(v, 3) for v in a.tolist()]}')
