"""Weight normalisation (Salimans and Kingma, 2016) and spectral normalisation (Miyato et al.,
2018, "Spectral Normalization for Generative Adversarial Networks") through
``torch.nn.utils.parametrizations``, written for the xpnn tests on a small convolutional
regressor of made-up 8x8 images.

The target is a 1-Lipschitz function of the image (half the mean of the brighter half of a
blurred copy, roughly), so a Lipschitz-constrained network can fit it. A plain network is
evaluated first; a ``copy.deepcopy`` of it gets ``weight_norm`` on every Conv2d and Linear
(``parametrize.is_parametrized``, the magnitudes ``original0`` and directions
``original1``, the weight unchanged at registration) and is trained by Adam; the plain
network itself then gets ``spectral_norm`` on the same layers, its per-layer spectral
norms (``torch.linalg.matrix_norm(ord=2)`` of the flattened weights) compared to 1 before
and after training, its evaluation run under ``parametrize.cached()``. Both are made plain
again by ``parametrize.remove_parametrizations(leave_parametrized=True)``, and a
state_dict round trip through BytesIO into a fresh network gives the same outputs.

    python tests/pytorch_programs/tutorials/weight_spectral_norm_parametrizations.py
"""
import copy
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
from torch.nn.utils.parametrizations import spectral_norm, weight_norm
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def make_set(count):
    x = rng.standard_normal((count, 1, 8, 8))
    blurred = (x[:, :, :-1, :-1] + x[:, :, 1:, :-1] + x[:, :, :-1, 1:] + x[:, :, 1:, 1:]) / 4
    flat = np.sort(blurred.reshape(count, -1), axis=1)
    y = 0.5 * flat[:, flat.shape[1] // 2:].mean(1) + 0.3 * np.abs(x[:, 0, 4, 4])
    return (torch.tensor(x, dtype=torch.float32, device=device),
            torch.tensor(y[:, None], dtype=torch.float32, device=device))


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def layers(net):
    return [net.conv1, net.conv2, net.fc1, net.fc2]


def spectral_norms(net):
    with torch.no_grad():
        return [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() for m in layers(net)]


train_x, train_y = make_set(512)
test_x, test_y = make_set(256)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)

model = Regressor().to(device)
with torch.no_grad():
    print(f"plain untrained | test mse {F.mse_loss(model(test_x), test_y).item():.4f}")
print("plain spectral norms", [round(s, 3) for s in spectral_norms(model)])


def train(net, name, epochs=6):
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for epoch in range(1, epochs + 1):
        total = 0.0
        for x, y in loader:
            loss = F.mse_loss(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        net.eval()
        with torch.no_grad(), parametrize.cached():
            test = F.mse_loss(net(test_x), test_y).item()
        net.train()
        print(f"{name} epoch {epoch} | train mse {total / len(loader):.5f} | test mse {test:.5f}")


# weight norm on a copy: w = g * v / ||v|| per output row, the weight unchanged at first
wn_model = copy.deepcopy(model)
before = wn_model.fc1.weight.detach().clone()
for m in layers(wn_model):
    weight_norm(m)
wrapped = all(parametrize.is_parametrized(m, "weight") for m in layers(wn_model))
print(f"weight_norm parametrized: {wrapped}"
      f" | fc1 original0 {tuple(wn_model.fc1.parametrizations.weight.original0.shape)}, "
      f"original1 {tuple(wn_model.fc1.parametrizations.weight.original1.shape)} | weight "
      f"unchanged: {torch.allclose(wn_model.fc1.weight, before, atol=1e-6)}")
print("weight_norm parameters:", [n for n, _ in wn_model.named_parameters()][:3])
train(wn_model, "weight norm")
g = wn_model.conv2.parametrizations.weight.original0
v = wn_model.conv2.parametrizations.weight.original1
rebuilt = g * v / torch.linalg.vector_norm(v.flatten(1), dim=1).view(-1, 1, 1, 1)
print(f"conv2 weight equals g * v / ||v||: "
      f"{torch.allclose(wn_model.conv2.weight, rebuilt, atol=1e-6)}")

# spectral norm on the plain network: each layer's (flattened) weight divided by its
# largest singular value, estimated by power iteration
for m in layers(model):
    spectral_norm(m)
print(f"spectral_norm parametrized: "
      f"{all(parametrize.is_parametrized(m, 'weight') for m in layers(model))} | "
      f"norms near 1: {all(abs(s - 1) < 0.05 for s in spectral_norms(model))}")
train(model, "spectral norm")
model.eval()
print(f"after training, spectral norms near 1: "
      f"{all(abs(s - 1) < 1e-3 for s in spectral_norms(model))}")
with parametrize.cached():
    first = model(test_x)
    cached_once = model.fc1.weight is model.fc1.weight
print(f"cached weight reused within the context: {cached_once}")

# bake both parametrizations into plain weights and round-trip the state dicts
for net in (wn_model, model):
    for m in layers(net):
        parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
left = any(parametrize.is_parametrized(m) for m in layers(model) + layers(wn_model))
print(f"removed: {not left}")
for name, net in (("weight norm", wn_model), ("spectral norm", model)):
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    fresh = Regressor().to(device)
    fresh.load_state_dict(torch.load(buffer))
    fresh.eval()
    net.eval()
    with torch.no_grad():
        same = torch.allclose(fresh(test_x), net(test_x), atol=1e-6)
        mse = F.mse_loss(fresh(test_x), test_y).item()
    print(f"{name} reloaded | keys {sorted(fresh.state_dict())[:2]} | same outputs: {same} | "
          f"test mse {mse:.5f}")
with torch.no_grad():
    print(f"spectral norm outputs kept by leave_parametrized: "
          f"{torch.allclose(model(test_x), first, atol=1e-6)}")
