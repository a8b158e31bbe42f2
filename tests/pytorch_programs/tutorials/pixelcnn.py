"""A tiny PixelCNN (van den Oord et al., 2016, "Pixel Recurrent Neural Networks"), written
small for the xpnn tests after the paper's masked convolutions, on made-up 8x8 binary images.

Each image holds one horizontal or vertical bar (a random row or column, a random start
and length) plus a little salt noise. The network models p(x) as a product of per-pixel
Bernoullis, each pixel conditioned on the pixels above it and to its left, which the masked
convolutions ensure: ``MaskedConv2d`` subclasses ``nn.Conv2d``, registers a buffer
``mask`` made by ``torch.ones_like(self.weight)`` and slicing (type "A" hides the centre
pixel too, type "B" lets it through), and writes ``self.weight.data *= self.mask`` before
the usual convolution; ``MaskedConv2dF`` is the other common spelling,
``F.conv2d(x, self.weight * self.mask, self.bias, ...)``. The loss is
``nn.BCEWithLogitsLoss`` summed over pixels, reported as bits per dimension. After training,
images are sampled pixel by pixel under ``torch.no_grad`` with ``torch.bernoulli`` and with
``torch.multinomial``, both seeded by a ``torch.Generator``.

    python tests/pytorch_programs/tutorials/pixelcnn.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

side = 8


def make_images(count):
    images = np.zeros((count, 1, side, side), dtype=np.float32)
    for img in images:
        start = rng.integers(0, 3)
        length = rng.integers(4, side - start + 1)
        line = rng.integers(0, side)
        if rng.random() < 0.5:
            img[0, line, start:start + length] = 1
        else:
            img[0, start:start + length, line] = 1
        salt = rng.random((side, side)) < 0.03
        img[0][salt] = 1 - img[0][salt]
    return torch.from_numpy(images)


train_x = make_images(512)
test_x = make_images(128)
loader = DataLoader(TensorDataset(train_x), batch_size=64, shuffle=True)


class MaskedConv2d(nn.Conv2d):
    """A convolution that sees only the pixels above and to the left of its centre (and the
    centre itself for type "B")."""

    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assert mask_type in ('A', 'B')
        self.register_buffer('mask', torch.ones_like(self.weight))
        _, _, kh, kw = self.weight.size()
        self.mask[:, :, kh // 2, kw // 2 + (mask_type == 'B'):] = 0
        self.mask[:, :, kh // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


class MaskedConv2dF(nn.Conv2d):
    """The same masking by multiplying the weight in the graph instead."""

    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mask = torch.ones_like(self.weight)
        _, _, kh, kw = self.weight.shape
        mask[:, :, kh // 2, kw // 2 + (mask_type == 'B'):] = 0
        mask[:, :, kh // 2 + 1:] = 0
        self.register_buffer('mask', mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class PixelCNN(nn.Module):
    def __init__(self, channels=24):
        super().__init__()
        self.net = nn.Sequential(
            MaskedConv2d('A', 1, channels, 5, padding=2), nn.ReLU(),
            MaskedConv2d('B', channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            MaskedConv2dF('B', channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 1, 1))

    def forward(self, x):
        return self.net(x)


model = PixelCNN().to(device)
print(model.net[0])
print(model.net[0].mask[0, 0])
print(model.net[5].mask[0, 0])
print(f"masked weights: {int((model.net[0].mask == 0).sum().item())} zeros in "
      f"{model.net[0].mask.numel()}")
criterion = nn.BCEWithLogitsLoss(reduction='sum')
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
bits = side * side * math.log(2)


def test_bits_per_dim():
    model.eval()
    with torch.no_grad():
        x = test_x.to(device)
        return criterion(model(x), x).item() / (len(x) * bits)


print(f'untrained | test bits/dim {test_bits_per_dim():.4f}')
for epoch in range(1, 7):
    model.train()
    total = 0.0
    for (x,) in loader:
        x = x.to(device)
        loss = criterion(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f'epoch {epoch} | train bits/dim {total / (len(train_x) * bits):.4f} | '
          f'test bits/dim {test_bits_per_dim():.4f}')

# the masks hold: changing pixel (4, 4) leaves the logits of the pixels before it unchanged
model.eval()
with torch.no_grad():
    x = test_x[:1].clone().to(device)
    before = model(x)
    x[0, 0, 4, 4] = 1 - x[0, 0, 4, 4]
    after = model(x)
changed = (before != after)[0, 0].flatten().nonzero().flatten()
print(f'first pixel whose logit depends on pixel (4, 4): {divmod(changed.min().item(), side)}')
print(f'masked weight entries still zero: '
      f'{bool((model.net[2].weight[model.net[2].mask == 0] == 0).all())}')


def sample(count, use_multinomial, generator):
    images = torch.zeros(count, 1, side, side, device=device)
    with torch.no_grad():
        for i in range(side):
            for j in range(side):
                p = torch.sigmoid(model(images)[:, 0, i, j])
                if use_multinomial:
                    probs = torch.stack([1 - p, p], dim=1)
                    draw = torch.multinomial(probs, 1, generator=generator)
                    images[:, 0, i, j] = draw[:, 0].float()
                else:
                    images[:, 0, i, j] = torch.bernoulli(p, generator=generator)
    return images


g = torch.Generator().manual_seed(7)
state = g.get_state()
first = sample(4, False, g)
g.set_state(state)
print(f'same generator state, same samples: {torch.equal(sample(4, False, g), first)} '
      f'(seed {g.initial_seed()})')
for name, flag in (('bernoulli', False), ('multinomial', True)):
    samples = sample(32, flag, g)
    has_line = ((samples.sum(dim=3) >= 4).any(dim=2) | (samples.sum(dim=2) >= 4).any(dim=2))
    density = samples.mean()
    print(f'{name} samples: {tuple(samples.shape)}, pixel density {density:.3f} '
          f'(data {train_x.mean():.3f}), with a line of 4+ {has_line.float().mean().item():.2f}')
