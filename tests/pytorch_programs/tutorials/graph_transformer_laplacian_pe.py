"""A graph Transformer with Laplacian eigenvector positional encodings (Dwivedi and Bresson,
2021, "A Generalization of Transformer Networks to Graphs"), written for the xpnn tests on
made-up graph classification: random Erdos-Renyi graphs against ring lattices with a few
random chords, of 6 to 11 nodes.

Each graph's symmetric normalised Laplacian I - D^-1/2 A D^-1/2 is diagonalised by
``torch.linalg.eigh``; the eigenvectors of the ``k`` smallest non-trivial eigenvalues (zero
columns where a graph has fewer) are the nodes' positional encodings. An eigenvector's sign
is arbitrary, so in training every graph's encodings are multiplied by random signs
(``torch.randint(0, 2, ...) * 2 - 1``). Node features (the degree and the encodings) of a
batch of graphs of different sizes are padded by ``torch.nn.utils.rnn.pad_sequence
(batch_first=True)``; the padding is masked out of the attention by
``nn.TransformerEncoder(..., src_key_padding_mask=...)`` and out of the masked mean readout.
AdamW with ``torch.optim.lr_scheduler.OneCycleLR`` stepped per batch, and
``clip_grad_norm_``. Printed per epoch: the training loss, the test loss and accuracy.

    python tests/pytorch_programs/tutorials/graph_transformer_laplacian_pe.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

k_pe, d_model = 4, 32


def random_graph(label):
    n = int(rng.integers(6, 12))
    adj = np.zeros((n, n))
    if label == 0:
        upper = np.triu(rng.random((n, n)) < 0.35, 1)
        adj = (upper | upper.T).astype(float)
    else:
        for i in range(n):
            adj[i, (i + 1) % n] = adj[(i + 1) % n, i] = 1
        for _ in range(2):
            i, j = rng.choice(n, 2, replace=False)
            adj[i, j] = adj[j, i] = 1
    return torch.from_numpy(adj.astype(np.float32))


def laplacian_pe(adj, k):
    deg = adj.sum(1)
    inv_sqrt = torch.where(deg > 0, deg.clamp(min=1e-12).rsqrt(), torch.zeros_like(deg))
    lap = torch.eye(adj.shape[0]) - inv_sqrt[:, None] * adj * inv_sqrt[None, :]
    evals, evecs = torch.linalg.eigh(lap)
    pe = evecs[:, 1:k + 1]
    if pe.shape[1] < k:
        pe = F.pad(pe, (0, k - pe.shape[1]))
    return pe, evals


def make_set(count):
    graphs = []
    for i in range(count):
        label = i % 2
        adj = random_graph(label)
        pe, _ = laplacian_pe(adj, k_pe)
        graphs.append((adj.sum(1, keepdim=True) / 4.0, pe, label))
    return graphs


train_set, test_set = make_set(128), make_set(64)
_, evals = laplacian_pe(random_graph(1), k_pe)
print(f'a ring graph\'s algebraic connectivity {evals[1].item():.4f}, largest eigenvalue '
      f'{evals[-1].item():.4f}')


def collate(graphs, flip):
    feats = []
    for deg, pe, _ in graphs:
        if flip:
            signs = torch.randint(0, 2, (1, k_pe)).float() * 2 - 1
            pe = pe * signs
        feats.append(torch.cat([deg, pe], dim=1))
    lengths = torch.tensor([f.shape[0] for f in feats])
    x = pad_sequence(feats, batch_first=True)
    padding = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
    y = torch.tensor([label for _, _, label in graphs])
    return x.to(device), padding.to(device), y.to(device)


class GraphTransformer(nn.Module):
    def __init__(self, in_dim, dim, classes=2):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        layer = nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, classes))

    def forward(self, x, padding):
        h = self.encoder(self.embed(x), src_key_padding_mask=padding)
        keep = (~padding).unsqueeze(-1).float()
        pooled = (h * keep).sum(1) / keep.sum(1)
        return self.head(pooled)


model = GraphTransformer(1 + k_pe, d_model).to(device)
batch, epochs = 16, 8
steps = len(train_set) // batch
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, epochs=epochs,
                                                steps_per_epoch=steps)
test_x, test_pad, test_y = collate(test_set, flip=False)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x, test_pad)
        loss = F.cross_entropy(logits, test_y)
        correct = (logits.argmax(1) == test_y).sum()
    model.train()
    return loss.item(), correct.item()


loss0, correct0 = evaluate()
print(f'untrained | test loss {loss0:.4f} | accuracy {correct0}/{len(test_set)}')
for epoch in range(epochs):
    order = rng.permutation(len(train_set))
    total = 0.0
    for step in range(steps):
        graphs = [train_set[i] for i in order[step * batch:(step + 1) * batch]]
        x, padding, y = collate(graphs, flip=True)
        loss = F.cross_entropy(model(x, padding), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item()
    test_loss, correct = evaluate()
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | train loss '
          f'{total / steps:.4f} | test loss {test_loss:.4f} | accuracy {correct}/{len(test_set)}')
