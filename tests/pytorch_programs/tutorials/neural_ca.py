"""Growing neural cellular automata (Mordvintsev et al., 2020, "Growing Neural Cellular
Automata", Distill), written small for the xpnn tests after the article's notebook: a 16x16
grid of cells with 8 channels (RGBA + 4 hidden) learns to grow a made-up target shape (a
ring and a bar) from a single seed cell.

Each step, a cell perceives its neighbourhood through fixed filters (identity, Sobel x, Sobel
y), kept as a registered buffer and applied depthwise by
``F.conv2d(x, w, padding=1, groups=C)``; an update rule of 1x1 convolutions, whose last layer
starts at zero (``nn.init.zeros_``, so the untrained automaton does nothing), proposes a
change that each cell applies with probability one half (a ``torch.rand(...) < p`` mask);
cells whose 3x3 neighbourhood holds no alpha above 0.1 (``F.max_pool2d(alpha, 3, 1, 1)``)
die. Training samples a batch from a pool of states (``torch.randperm``), replaces the worst
one by the seed, runs 16 to 24 steps, and normalizes each parameter's gradient
(``p.grad.div_(p.grad.norm() + 1e-8)``) before Adam; the pool takes the results back after
``torch.clamp_``.

    python tests/pytorch_programs/tutorials/neural_ca.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

size, channels, pool_size, batch_size = 16, 8, 32, 4

def make_target():
    yy, xx = np.mgrid[:size, :size].astype(np.float32) - (size - 1) / 2
    radius = np.sqrt(yy ** 2 + xx ** 2)
    ring = ((radius > 3.5) & (radius < 6.0)).astype(np.float32)
    bar = ((np.abs(yy) < 1.0) & (np.abs(xx) < 5.0)).astype(np.float32)
    alpha = np.maximum(ring, bar)
    rgb = np.stack([ring, bar, 0.5 * alpha]) * alpha
    return torch.from_numpy(np.concatenate([rgb, alpha[None]]).astype(np.float32))

target = make_target().to(device)
print(f'target {tuple(target.shape)}, alive pixels {int(target[3].sum().item())}')

def make_seed(n=1):
    x = torch.zeros(n, channels, size, size, device=device)
    x[:, 3:, size // 2, size // 2] = 1.0
    return x

class CellularAutomaton(nn.Module):
    def __init__(self, hidden=64, fire_rate=0.5):
        super().__init__()
        identity = torch.tensor([[0., 0., 0.], [0., 1., 0.], [0., 0., 0.]])
        sobel_x = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]]) / 8
        kernels = torch.stack([identity, sobel_x, sobel_x.T])
        self.register_buffer('filters', kernels.repeat(channels, 1, 1).unsqueeze(1))
        self.update = nn.Sequential(nn.Conv2d(3 * channels, hidden, 1), nn.ReLU(),
                                    nn.Conv2d(hidden, channels, 1, bias=False))
        nn.init.zeros_(self.update[2].weight)
        self.fire_rate = fire_rate

    def alive(self, x):
        return F.max_pool2d(x[:, 3:4], 3, stride=1, padding=1) > 0.1

    def forward(self, x):
        pre = self.alive(x)
        perception = F.conv2d(x, self.filters, padding=1, groups=channels)
        dx = self.update(perception)
        fire = torch.rand(x.shape[0], 1, size, size, device=x.device) < self.fire_rate
        x = x + dx * fire.float()
        post = self.alive(x)
        return x * (pre & post).float()

model = CellularAutomaton().to(device)
print(f'filters buffer {tuple(model.filters.shape)}, buffers '
      f'{[name for name, _ in model.named_buffers()]}, last layer all zero: '
      f'{bool((model.update[2].weight == 0).all())}')
with torch.no_grad():
    still = model(make_seed(2))
print(f'untrained step leaves the seed: {torch.equal(still, make_seed(2))}')

def rgba_loss(x):
    return ((x[:, :4] - target) ** 2).mean(dim=(1, 2, 3))

def grow(n=8, steps=20):
    with torch.no_grad():
        x = make_seed(n)
        for _ in range(steps):
            x = model(x)
        x.clamp_(0.0, 1.0)
        loss = rgba_loss(x).mean().item()
        alive = (x[:, 3] > 0.1).float().sum(dim=(1, 2)).mean().item()
    return loss, alive

grown, alive = grow()
print(f'untrained: grown from the seed in 20 steps | loss {grown:.5f} | alive cells {alive:.1f}')
model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
pool = make_seed(pool_size)

for step in range(1, 61):
    idx = torch.randperm(pool_size, device=device)[:batch_size]
    batch = pool[idx].clone()
    with torch.no_grad():
        worst = rgba_loss(batch).argmax()
    batch[worst] = make_seed()[0]
    steps = int(torch.randint(16, 25, (1,)).item())
    x = batch
    for _ in range(steps):
        x = model(x)
    loss = rgba_loss(x).mean()
    optimizer.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.grad.div_(p.grad.norm() + 1e-8)
    optimizer.step()
    with torch.no_grad():
        pool[idx] = x.detach().clamp_(-1.0, 1.0)
    if step % 10 == 0:
        print(f'step {step:3d} | {steps} ca steps | loss {loss.item():.5f}')

model.eval()
grown, alive = grow()
print(f'trained: grown from the seed in 20 steps | loss {grown:.5f} | alive cells {alive:.1f}')
