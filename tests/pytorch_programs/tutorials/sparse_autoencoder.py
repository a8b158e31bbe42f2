"""A top-k sparse autoencoder on a frozen network's activations, written small for the xpnn
tests after the dictionary-learning recipe of interpretability work (Gao et al., 2024,
"Scaling and evaluating sparse autoencoders"), on made-up data.

First an MLP classifier is trained on 8 Gaussian clusters in 16 dimensions and frozen
(``requires_grad_(False)``, ``eval()``). Its hidden activations (after the second ReLU) are
collected with ``register_forward_hook`` over the whole data set, and the hook's handle is
removed. A sparse autoencoder with 128 features keeps the 6 largest pre-activations per input
(``torch.topk``, then ``scatter`` into zeros) and decodes them with a decoder whose columns are
renormalised to unit length after every step under ``torch.no_grad``
(``W.div_(W.norm(dim=0, keepdim=True))``). The reconstruction loss, the explained variance and
the count of dead features are printed per epoch; the state_dict goes through ``torch.save``
into an ``io.BytesIO`` and back by ``torch.load`` into a fresh autoencoder
(``load_state_dict(strict=True)``), whose outputs equal the original's.

    python tests/pytorch_programs/tutorials/sparse_autoencoder.py
"""
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

classes, dim = 8, 16
centres = 2.5 * torch.randn(classes, dim)
labels = torch.arange(1024) % classes
inputs = centres[labels] + torch.randn(1024, dim)
loader = DataLoader(TensorDataset(inputs, labels), batch_size=128, shuffle=True)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                 nn.Linear(64, classes))

    def forward(self, x):
        return self.net(x)


mlp = MLP().to(device)
optimizer = torch.optim.Adam(mlp.parameters(), lr=3e-3)
for epoch in range(1, 4):
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(mlp(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f'classifier epoch {epoch} | loss {loss.item():.4f}')
mlp.requires_grad_(False)
mlp.eval()

captured = []


def save_activations(module, args, output):
    captured.append(output.detach())


handle = mlp.net[3].register_forward_hook(save_activations)
with torch.no_grad():
    correct = 0
    for x, y in DataLoader(TensorDataset(inputs, labels), batch_size=256):
        correct += (mlp(x.to(device)).argmax(1) == y.to(device)).sum().item()
handle.remove()
with torch.no_grad():
    mlp(inputs[:4].to(device))
acts = torch.cat(captured)
print(f'classifier accuracy {correct / len(inputs):.3f} | captured {len(captured)} batches, '
      f'activations {tuple(acts.shape)} | trainable parameters left '
      f'{sum(p.requires_grad for p in mlp.parameters())}')
print(f'fraction of active units {(acts > 0).float().mean().item():.3f}, '
      f'mean activation {acts.mean().item():.4f}')


class TopKSAE(nn.Module):
    def __init__(self, d_model, n_features, k):
        super().__init__()
        self.k = k
        self.encoder = nn.Linear(d_model, n_features)
        self.decoder = nn.Linear(n_features, d_model, bias=False)
        self.b_dec = nn.Parameter(torch.zeros(d_model))

    def encode(self, x):
        pre = F.relu(self.encoder(x - self.b_dec))
        values, indices = torch.topk(pre, self.k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, indices, values)

    def forward(self, x):
        codes = self.encode(x)
        return self.decoder(codes) + self.b_dec, codes


def explained_variance(x, recon):
    return 1 - (x - recon).pow(2).sum() / (x - x.mean(dim=0)).pow(2).sum()


sae = TopKSAE(64, 128, k=6).to(device)
with torch.no_grad():
    W = sae.decoder.weight
    W.copy_(torch.randn_like(W))
    W.div_(W.norm(dim=0, keepdim=True))
    sae.encoder.weight.copy_(W.T)
    sae.encoder.bias.zero_()
    sae.b_dec.copy_(acts.mean(dim=0))

act_loader = DataLoader(TensorDataset(acts), batch_size=128, shuffle=True)
sae_opt = torch.optim.Adam(sae.parameters(), lr=2e-3)
for epoch in range(1, 9):
    fired = torch.zeros(128, device=device)
    total = 0.0
    for (x,) in act_loader:
        x = x.to(device)
        recon, codes = sae(x)
        loss = F.mse_loss(recon, x)
        sae_opt.zero_grad()
        loss.backward()
        sae_opt.step()
        with torch.no_grad():
            W = sae.decoder.weight
            W.div_(W.norm(dim=0, keepdim=True))
        fired += (codes > 0).sum(dim=0)
        total += loss.item() * x.size(0)
    with torch.no_grad():
        recon, codes = sae(acts)
        ev = explained_variance(acts, recon)
    dead = (fired == 0).sum().item()
    print(f'sae epoch {epoch} | mse {total / len(acts):.5f} | explained variance '
          f'{ev.item():.4f} | dead features {dead}')

with torch.no_grad():
    recon, codes = sae(acts)
    norms = sae.decoder.weight.norm(dim=0)
    print(f'active features per input {(codes > 0).sum(dim=1).float().mean().item():.2f} '
          f'(k = {sae.k}) | decoder column norms {norms.min().item():.4f} to '
          f'{norms.max().item():.4f}')
    usage = (codes > 0).float().mean(dim=0)
    top = usage.topk(3)
    print(f'most used features {top.indices.tolist()} on '
          f'{[round(u, 3) for u in top.values.tolist()]} of inputs')

buffer = io.BytesIO()
torch.save(sae.state_dict(), buffer)
buffer.seek(0)
state = torch.load(buffer)
print(f'saved tensors {sorted(state)}')
restored = TopKSAE(64, 128, k=6).to(device)
print(restored.load_state_dict(state, strict=True))
with torch.no_grad():
    same = torch.equal(restored(acts)[0], sae(acts)[0])
    print(f'restored autoencoder reproduces the outputs: {same}, '
          f'explained variance {explained_variance(acts, restored(acts)[0]).item():.4f}')
