"""A mixture density network built from lazy modules, written for the xpnn tests, on 768
(+ 256 test) made-up 8x8 images, each with a bright blob at a random column c: the target is
c / 8 + 0.5 or c / 8 - 0.5 (a coin flip), plus noise, so its density given the image has two modes.

The layers are ``nn.LazyConv2d`` and ``nn.LazyLinear`` (their input sizes inferred at a dry
run with one batch, before the optimizer is made, as PyTorch's documentation advises); the
head's outputs parametrize a ``MixtureSameFamily(Categorical, Normal)`` whose negative
log-likelihood is minimized with Adam. Shapes, ``max`` and ``sort`` results (PyTorch's
return types) are printed.

    python tests/pytorch_programs/tutorials/lazy_mixture.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, MixtureSameFamily, Normal
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(8)
rng = random.Random(8)



def make_data(n):
    columns = torch.tensor([rng.randrange(8) for _ in range(n)])
    signs = torch.tensor([rng.choice([-1.0, 1.0]) for _ in range(n)])
    images = 0.05 * torch.randn(n, 1, 8, 8)
    rows = torch.arange(8).view(1, 8, 1).float()
    cols = torch.arange(8).view(1, 1, 8).float()
    blob = torch.exp(-((rows - 3.5) ** 2 + (cols - columns.view(-1, 1, 1).float()) ** 2) / 2)
    images = images + blob.unsqueeze(1)
    targets = columns.float() / 8 + 0.5 * signs + 0.2 * torch.randn(n)
    return images, targets


images, targets = make_data(768)
test_images, test_targets = make_data(256)
print(images.shape, targets.shape, targets.dtype)
loader = DataLoader(TensorDataset(images, targets), batch_size=64, shuffle=True)


class MDN(nn.Module):
    def __init__(self, n_components=3):
        super().__init__()
        self.k = n_components
        self.features = nn.Sequential(nn.LazyConv2d(8, kernel_size=3, stride=2, padding=1),
                                      nn.ReLU(), nn.Flatten(), nn.LazyLinear(16), nn.Tanh())
        self.head = nn.LazyLinear(3 * n_components)

    def forward(self, x):
        logits, means, log_scales = self.head(self.features(x)).chunk(3, dim=1)
        mix = Categorical(logits=logits)
        comp = Normal(means, F.softplus(log_scales) + 1e-3)
        return MixtureSameFamily(mix, comp)


model = MDN()
print(model)
with torch.no_grad():
    dist = model(images[:2])                        # the dry run infers the input sizes
print(model)
print(dist.batch_shape, dist.mixture_distribution.probs.shape)
print('parameters:', sum(p.numel() for p in model.parameters()))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

for epoch in range(1, 16):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = -model(xb).log_prob(yb).mean()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    with torch.no_grad():
        test_nll = -model(test_images).log_prob(test_targets).mean()
    print('epoch {} | train nll {:.4f} | test nll {:.4f}'.format(
        epoch, total / len(targets), test_nll.item()))

with torch.no_grad():
    dist = model(images[:4])
    weights = dist.mixture_distribution.probs
    values, indices = weights.max(1)
    print(values.shape, indices.dtype)
    print(type(weights.max(1)).__name__, weights.max(dim=1).indices.tolist())
    top = weights[0].sort(descending=True)
    print(top)
    print('main mode of image 0:', dist.component_distribution.mean[0, top.indices[0]].shape)
    print('mixture mean vs targets:', dist.mean.shape, targets[:4].shape)
