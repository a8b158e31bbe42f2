"""A tiny ConvNeXt (Liu et al., 2022, "A ConvNet for the 2020s"), written for the xpnn
tests after the paper's block design, on made-up 16x16 images of four noisy shapes.

A patchify stem (a stride-2 Conv2d) and a channels-first LayerNorm written by hand (mean and
variance over dim 1) lead into ConvNeXt blocks: a depthwise ``Conv2d(C, C, 7, padding=3,
groups=C)``, then channels last by ``permute(0, 2, 3, 1)`` for ``nn.LayerNorm`` and the two
pointwise ``nn.Linear`` layers around a GELU, a layer scale ``gamma`` initialised to
``1e-6 * torch.ones(C)``, back by ``permute(0, 3, 1, 2)``, and a residual through DropPath:
stochastic depth (Huang et al., 2016), one ``x.new_empty(shape).bernoulli_(keep) / keep``
draw per sample, with rates rising by ``torch.linspace`` over the blocks. The loss is
``CrossEntropyLoss(label_smoothing=0.1)``; AdamW has two parameter groups (no weight decay
for norms, biases and layer scales), and the learning rate follows a linear warmup and a
cosine decay (``LambdaLR``).

    python tests/pytorch_programs/tutorials/convnext_droppath.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(8)
rng = np.random.default_rng(8)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
S, N_CLASSES = 16, 4


def make_images(count):
    """A horizontal bar, a vertical bar, a hollow square or a cross at a random place."""
    labels = rng.integers(0, N_CLASSES, count)
    x = 0.2 * rng.standard_normal((count, 1, S, S))
    for i, label in enumerate(labels):
        r, c = rng.integers(3, S - 3, 2)
        if label == 0:
            x[i, 0, r, 2:S - 2] += 1.0
        elif label == 1:
            x[i, 0, 2:S - 2, c] += 1.0
        elif label == 2:
            x[i, 0, r - 3:r + 3, c - 3] += 1.0
            x[i, 0, r - 3:r + 3, c + 2] += 1.0
            x[i, 0, r - 3, c - 3:c + 3] += 1.0
            x[i, 0, r + 2, c - 3:c + 3] += 1.0
        else:
            x[i, 0, r, c - 3:c + 4] += 1.0
            x[i, 0, r - 3:r + 4, c] += 1.0
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


def drop_path(x, drop_prob=0.0, training=False):
    if drop_prob == 0.0 or not training:
        return x
    keep = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # one draw per sample
    return x * (x.new_empty(shape).bernoulli_(keep) / keep)


class DropPath(nn.Module):
    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f'drop_prob={self.drop_prob:.3f}'


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an (N, C, H, W) tensor."""

    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class Block(nn.Module):
    def __init__(self, dim, drop_path=0.0, layer_scale_init_value=1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim))
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        shortcut = x
        x = self.dwconv(x)
        x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        x = self.gamma * x
        x = x.permute(0, 3, 1, 2)
        return shortcut + self.drop_path(x)


class ConvNeXt(nn.Module):
    def __init__(self, dims=(16, 32), depths=(2, 2), drop_path_rate=0.2):
        super().__init__()
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stem = nn.Sequential(nn.Conv2d(1, dims[0], 2, stride=2), LayerNorm2d(dims[0]))
        self.down = nn.Sequential(LayerNorm2d(dims[0]), nn.Conv2d(dims[0], dims[1], 2, stride=2))
        self.stage1 = nn.Sequential(*[Block(dims[0], rates[i]) for i in range(depths[0])])
        self.stage2 = nn.Sequential(*[Block(dims[1], rates[depths[0] + i])
                                      for i in range(depths[1])])
        self.norm = nn.LayerNorm(dims[1], eps=1e-6)
        self.head = nn.Linear(dims[1], N_CLASSES)

    def forward(self, x):
        x = self.stage2(self.down(self.stage1(self.stem(x))))
        return self.head(self.norm(x.mean(dim=(-2, -1))))


train_x, train_y = make_images(384)
test_x, test_y = make_images(256)
model = ConvNeXt().to(device)
print(model.stage2[1].drop_path)

decay, no_decay = [], []
for name, param in model.named_parameters():
    (no_decay if param.ndim <= 1 or name.endswith('.gamma') else decay).append(param)
optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                               {'params': no_decay, 'weight_decay': 0.0}], lr=8e-3)
print(f'decayed tensors {len(decay)} | not decayed {len(no_decay)}')
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)
epochs, warmup = 8, len(loader)
total_steps = epochs * len(loader)


def lr_lambda(step):
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / (total_steps - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


def evaluate():
    model.eval()
    with torch.no_grad():
        out = model(test_x.to(device))
        loss = F.cross_entropy(out, test_y.to(device)).item()
        accuracy = (out.argmax(1) == test_y.to(device)).float().mean().item()
    model.train()
    return loss, accuracy


loss, accuracy = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}')

# DropPath is the identity in eval mode; in training it keeps the mean
with torch.no_grad():
    ones = torch.ones(4096, 1, 2, 2, device=device)
    path = DropPath(0.25)
    path.eval()
    same = torch.equal(path(ones), ones)
    path.train()
    kept = path(ones)
    print(f'eval identity {same} | train values {sorted(set(kept.unique().tolist()))} | '
          f'mean near 1 {abs(kept.mean().item() - 1) < 0.05}')

for epoch in range(1, epochs + 1):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item()
    test_loss, accuracy = evaluate()
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | train loss '
          f'{total / len(loader):.4f} | test loss {test_loss:.4f} | accuracy {accuracy:.3f}')

gammas = torch.cat([b.gamma.detach().abs().flatten() for b in [*model.stage1, *model.stage2]])
print(f'layer scale |gamma| mean {gammas.mean().item():.5f}')
