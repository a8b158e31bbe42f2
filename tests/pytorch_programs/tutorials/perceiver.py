"""A tiny Perceiver (Jaegle et al., 2021, "Perceiver: General Perception with Iterative
Attention"), written small for the xpnn tests after the paper's architecture, classifying
made-up 16x16 images as a long sequence of 256 pixels.

Each pixel becomes a token of its value and Fourier position features: the coordinates on
``torch.linspace(-1, 1, 16)``, crossed by ``torch.meshgrid(..., indexing="ij")``, each scaled
by 4 frequency bands and put through sin and cos, then joined by ``torch.cat`` (1 + 2 + 16
features). A small array of learned latents (``nn.Parameter``) cross-attends to the tokens
through ``nn.MultiheadAttention(embed_dim, heads, kdim=..., vdim=..., batch_first=True)``
(the keys and values keep the input's width), then goes through a pre-LayerNorm latent
self-attention block with a GELU MLP, twice with shared weights, as the paper's iterative
attention does. The latents are mean-pooled and classified. Four classes: the quadrant
of a bright square, with a dimmer bar as a distractor anywhere, under noise; AdamW
under CosineAnnealingLR; test loss and accuracy per epoch, and the cross-attention map of
one image at the end.

    python tests/pytorch_programs/tutorials/perceiver.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
rng = np.random.default_rng(2)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

side, n_classes = 16, 4


def make_image(label):
    """a bright square (4) in quadrant ``label`` and a dimmer bar (2) anywhere"""
    img = np.zeros((side, side), dtype=np.float32)
    half = side // 2
    r = rng.integers(1, half - 4) + half * (label // 2)
    c = rng.integers(1, half - 4) + half * (label % 2)
    img[r:r + 3, c:c + 3] = 4
    br, bc = rng.integers(0, side - 5, size=2)
    if rng.random() < 0.5:
        img[br, bc:bc + 5] += 2
    else:
        img[br:br + 5, bc] += 2
    return img


def make_set(count):
    labels = np.arange(count) % n_classes
    images = torch.from_numpy(np.stack([make_image(y) for y in labels]))
    return images + 0.2 * torch.randn(count, side, side), torch.from_numpy(labels)


train_x, train_y = make_set(320)
test_x, test_y = make_set(128)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


def fourier_features(size, bands=4):
    coords = torch.linspace(-1, 1, size)
    grid = torch.stack(torch.meshgrid(coords, coords, indexing='ij'), dim=-1).reshape(-1, 2)
    freqs = torch.linspace(1.0, size / 2, bands)
    scaled = grid.unsqueeze(-1) * freqs * math.pi
    return torch.cat([grid, scaled.sin().flatten(1), scaled.cos().flatten(1)], dim=-1)


positions = fourier_features(side)
print(f'position features {tuple(positions.shape)}, first row '
      f'{[round(v, 3) for v in positions[0, :6].tolist()]}')


class LatentBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, z):
        h = self.norm1(z)
        z = z + self.attn(h, h, h, need_weights=False)[0]
        return z + self.mlp(self.norm2(z))


class Perceiver(nn.Module):
    def __init__(self, in_dim, n_latents=16, dim=32, heads=4, depth=2):
        super().__init__()
        self.latents = nn.Parameter(torch.randn(n_latents, dim))
        self.cross = nn.MultiheadAttention(dim, 1, kdim=in_dim, vdim=in_dim, batch_first=True)
        self.cross_mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU())
        self.block = LatentBlock(dim, heads)
        self.depth = depth
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, n_classes))

    def forward(self, images, return_attention=False):
        batch = images.shape[0]
        tokens = torch.cat([images.reshape(batch, -1, 1),
                            positions.to(images.device).expand(batch, -1, -1)], dim=-1)
        z = self.latents.unsqueeze(0).expand(batch, -1, -1)
        attended, weights = self.cross(z, tokens, tokens)
        z = z + attended
        z = z + self.cross_mlp(z)
        for _ in range(self.depth):
            z = self.block(z)
        logits = self.head(z.mean(dim=1))
        return (logits, weights) if return_attention else logits


model = Perceiver(in_dim=positions.shape[1] + 1).to(device)
print(f'cross-attention in_proj_weight: {model.cross.in_proj_weight}, separate q/k/v: '
      f'{tuple(model.cross.q_proj_weight.shape)} {tuple(model.cross.k_proj_weight.shape)} '
      f'{tuple(model.cross.v_proj_weight.shape)}')
print(f'parameters {sum(p.numel() for p in model.parameters())}')
epochs = 6
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

for epoch in range(1, epochs + 1):
    model.train()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        test_loss = F.cross_entropy(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    print(f'epoch {epoch} | train loss {loss.item():.4f} | test loss {test_loss:.4f} | '
          f'accuracy {accuracy:.3f}')

with torch.no_grad():
    _, weights = model(test_x[:1].to(device), return_attention=True)
attention_map = weights[0].mean(0).reshape(side, side)
peak = attention_map.argmax().item()
on_shape = (test_x[0] > 3).float()
print(f'cross-attention {tuple(weights.shape)}, peak at pixel {divmod(peak, side)}, '
      f'mass on the shape {(attention_map * on_shape).sum().item():.3f} '
      f'(shape covers {on_shape.mean().item():.3f} of the image)')
