"""Mixed-precision training on the CPU with activation checkpointing, written small for the
xpnn tests after PyTorch's AMP recipe (``torch.autocast("cpu", dtype=torch.bfloat16)``,
which needs no GradScaler) and ``torch.utils.checkpoint``, on made-up data: 768 points in 32
dimensions, 4 classes set by a random two-layer teacher network.

The model is a ResNet-ish MLP: a stem, 8 residual blocks (LayerNorm, Linear, GELU, Linear,
added to the input) in an ``nn.Sequential`` body, and a head. Under autocast the Linear
layers run in bfloat16 (the printed dtype of the activations inside the region), the body
runs through ``checkpoint_sequential`` in 4 segments with ``use_reentrant=False`` (the
activations of a segment are recomputed in backward), and the loss is taken in float32 from
``logits.float()``. The same model from the same initial parameters is trained first in
float32 (a copy of the initial ``state_dict``), then under bfloat16 autocast; printed:
losses, test accuracy, and how far the two runs' parameters drift apart.

    python tests/pytorch_programs/tutorials/bf16_checkpoint.py
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint_sequential
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(17)
device = 'cpu'

n_train, n_test, dim, n_classes = 768, 256, 32, 4
teacher = torch.randn(dim, 16), torch.randn(16, n_classes)
x_all = torch.randn(n_train + n_test, dim)
y_all = (torch.tanh(x_all @ teacher[0]) @ teacher[1]).argmax(dim=1)
train_x, train_y = x_all[:n_train], y_all[:n_train]
test_x, test_y = x_all[n_train:], y_all[n_train:]
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class DeepMLP(nn.Module):
    def __init__(self, width=64, depth=8):
        super().__init__()
        self.stem = nn.Linear(dim, width)
        self.body = nn.Sequential(*[ResidualBlock(width) for _ in range(depth)])
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, n_classes))

    def forward(self, x, segments=4):
        h = self.stem(x)
        if self.training and segments > 1:
            h = checkpoint_sequential(self.body, segments, h, use_reentrant=False)
        else:
            h = self.body(h)
        return self.head(h)


def train(model, use_bf16, epochs=5):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            with torch.autocast(device_type='cpu', dtype=torch.bfloat16, enabled=use_bf16):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        model.eval()
        with torch.no_grad(), torch.autocast(device_type='cpu', dtype=torch.bfloat16,
                                             enabled=use_bf16):
            logits = model(test_x.to(device))
        test_loss = F.cross_entropy(logits.float(), test_y).item()
        correct = (logits.argmax(dim=1) == test_y).sum().item()
        print(f'{"bf16" if use_bf16 else "fp32"} epoch {epoch} | train loss '
              f'{total / n_train:.4f} | test loss {test_loss:.4f} | '
              f'test accuracy {correct}/{n_test}')
    return test_loss


model = DeepMLP().to(device)
print(f'parameters: {sum(p.numel() for p in model.parameters())}')
model.eval()
with torch.no_grad(), torch.autocast(device_type='cpu', dtype=torch.bfloat16):
    out = model(train_x[:4])
    h = model.stem(train_x[:4])
    print(f'inside autocast: stem output {h.dtype}, logits {out.dtype}, '
          f'parameters {model.stem.weight.dtype}, autocast enabled '
          f'{torch.is_autocast_enabled("cpu")}')
initial = copy.deepcopy(model.state_dict())

model32 = DeepMLP().to(device)
model32.load_state_dict(initial)
fp32_loss = train(model32, use_bf16=False)
fp32_params = torch.cat([p.detach().flatten() for p in model32.parameters()])

bf16_loss = train(model, use_bf16=True)
bf16_params = torch.cat([p.detach().flatten() for p in model.parameters()])
drift = ((bf16_params - fp32_params).norm() / fp32_params.norm()).item()
print(f'final test loss bf16 {bf16_loss:.4f} vs fp32 {fp32_loss:.4f}; '
      f'relative parameter difference {drift:.4f}')
