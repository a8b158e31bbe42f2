"""A Relation Network (Santoro et al., 2017, "A simple neural network module for relational
reasoning") on a toy sort-of-CLEVR task, written for the xpnn tests after the paper's
state-description experiment.

Each scene holds 6 objects, one per colour, each a square or a circle at a random place; an
object is described by its colour (one-hot), its shape and its (x, y) coordinates. A question
names a colour and asks one of five things: the object's shape, whether it is on the left,
(relational) the shape of the nearest and of the farthest object, and how many objects share
its shape. The answers share one vocabulary of 10 classes.

The RN embeds the objects, forms all ordered pairs by ``unsqueeze``/``expand``/``cat``,
appends the question embedding ``repeat``-ed to every pair, runs an MLP g over the pairs and
sums them, then an MLP f gives the answer's logits. Cross-entropy under Adam; the loss and
the accuracy of the relational and non-relational questions on held-out scenes are printed
per epoch.

    python tests/pytorch_programs/tutorials/relation_network.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

N_OBJ, N_QTYPE, N_ANSWERS = 6, 5, 10
SQUARE, CIRCLE, YES, NO = 0, 1, 2, 3  # then 4 + k - 1 for a count of k
RELATIONAL = (2, 3, 4)


def make_scenes(count):
    """Objects (count, 6, 6 + 1 + 2), questions (count, 6 + 5), answers (count,), types."""
    shapes = rng.integers(0, 2, (count, N_OBJ))
    xy = rng.uniform(0, 1, (count, N_OBJ, 2))
    colour = rng.integers(0, N_OBJ, count)
    qtype = rng.integers(0, N_QTYPE, count)
    objects = np.concatenate([np.broadcast_to(np.eye(N_OBJ), (count, N_OBJ, N_OBJ)),
                              shapes[..., None], xy], axis=2)
    questions = np.concatenate([np.eye(N_OBJ)[colour], np.eye(N_QTYPE)[qtype]], axis=1)
    answers = np.empty(count, dtype=np.int64)
    for i in range(count):
        c = colour[i]
        dist = np.linalg.norm(xy[i] - xy[i, c], axis=1)
        if qtype[i] == 0:
            answers[i] = shapes[i, c]
        elif qtype[i] == 1:
            answers[i] = YES if xy[i, c, 0] < 0.5 else NO
        elif qtype[i] == 2:
            dist[c] = np.inf
            answers[i] = shapes[i, np.argmin(dist)]
        elif qtype[i] == 3:
            answers[i] = shapes[i, np.argmax(dist)]
        else:
            answers[i] = 4 + (shapes[i] == shapes[i, c]).sum() - 1
    return (torch.tensor(objects, dtype=torch.float32),
            torch.tensor(questions, dtype=torch.float32),
            torch.tensor(answers), torch.tensor(qtype))


class RelationNetwork(nn.Module):
    def __init__(self, obj_dim, q_dim, hidden=64):
        super().__init__()
        self.embed = nn.Linear(obj_dim, 32)
        self.q_embed = nn.Linear(q_dim, 16)
        self.g = nn.Sequential(nn.Linear(2 * 32 + 16, hidden), nn.ReLU(),
                               nn.Linear(hidden, hidden), nn.ReLU(),
                               nn.Linear(hidden, hidden), nn.ReLU())
        self.f = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.1),
                               nn.Linear(hidden, N_ANSWERS))

    def forward(self, objects, questions):
        B, n, _ = objects.shape
        o = F.relu(self.embed(objects))                         # (B, n, 32)
        o_i = o.unsqueeze(2).expand(B, n, n, o.shape[-1])        # object i of pair (i, j)
        o_j = o.unsqueeze(1).expand(B, n, n, o.shape[-1])        # object j
        pairs = torch.cat([o_i, o_j], dim=-1).view(B, n * n, -1)
        q = self.q_embed(questions).unsqueeze(1).repeat(1, n * n, 1)
        relations = self.g(torch.cat([pairs, q], dim=-1))        # (B, n * n, hidden)
        return self.f(relations.sum(dim=1))


train_o, train_q, train_a, train_t = make_scenes(2000)
test_o, test_q, test_a, test_t = make_scenes(500)
print(f'objects {tuple(train_o.shape)}, questions {tuple(train_q.shape)}, answer counts '
      f'{torch.bincount(train_a, minlength=N_ANSWERS).tolist()}')

model = RelationNetwork(train_o.shape[-1], train_q.shape[-1]).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
loader = DataLoader(TensorDataset(train_o, train_q, train_a), batch_size=64, shuffle=True)
relational = torch.isin(test_t, torch.tensor(RELATIONAL)).to(device)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_o.to(device), test_q.to(device))
        loss = F.cross_entropy(logits, test_a.to(device)).item()
        right = logits.argmax(dim=1) == test_a.to(device)
        rel = right[relational].float().mean().item()
        nonrel = right[~relational].float().mean().item()
    model.train()
    return loss, rel, nonrel


loss, rel, nonrel = evaluate()
print(f'untrained | test loss {loss:.4f} | relational {rel:.3f} | non-relational {nonrel:.3f}')
for epoch in range(1, 9):
    total = 0.0
    for o, q, a in loader:
        o, q, a = o.to(device), q.to(device), a.to(device)
        loss = F.cross_entropy(model(o, q), a)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, rel, nonrel = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'relational {rel:.3f} | non-relational {nonrel:.3f}')
