"""A classifier trained with PyTorch's automatic mixed precision recipe, written for the
xpnn tests, on 512 made-up points in 10 dimensions around 4 random centres.

An MLP (Linear, BatchNorm1d, ReLU, Linear, GELU, Linear) is evaluated once as it is, then
wrapped by ``torch.compile``; each step runs the forward in an ``torch.amp.autocast`` region
(switched off with ``enabled=False``, as a program does on a machine without bfloat16), and
``torch.amp.GradScaler`` scales the loss, unscales the gradients for
``clip_grad_norm_``, steps and updates its scale (grown every 10 steps here).

    python tests/pytorch_programs/tutorials/amp_classifier.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)

n_classes, n_per_class, n_features = 4, 128, 10
centers = 0.5 * torch.randn(n_classes, n_features)
x = torch.cat([centers[c] + torch.randn(n_per_class, n_features) for c in range(n_classes)])
y = torch.arange(n_classes).repeat_interleave(n_per_class)
dataset = TensorDataset(x, y)
loader = DataLoader(dataset, batch_size=64, shuffle=True)
print('data:', tuple(x.shape), y.dtype, 'classes', y.bincount().tolist())

model = nn.Sequential(
    nn.Linear(n_features, 64), nn.BatchNorm1d(64), nn.ReLU(),
    nn.Linear(64, 32), nn.GELU(),
    nn.Linear(32, n_classes))
print(model)


def evaluate(model):
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        correct = (logits.argmax(dim=1) == y).sum()
    return loss.item(), correct.item()


loss, correct = evaluate(model)
print('before training: loss {:.4f}, accuracy {}/{}'.format(loss, correct, len(dataset)))

model = torch.compile(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scaler = torch.amp.GradScaler("cpu", growth_interval=10)
print('initial scale:', scaler.get_scale())

for epoch in range(1, 7):
    model.train()
    total_loss = 0.0
    for batch, (xb, yb) in enumerate(loader):
        optimizer.zero_grad(set_to_none=True)
        with torch.amp.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=False):
            output = model(xb)
            loss = F.cross_entropy(output, yb)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
        total_loss += loss.item() * len(xb)
    print('epoch {} | train loss {:.4f} | last grad norm {:.3f} | scale {:.1f}'.format(
        epoch, total_loss / len(dataset), grad_norm.item(), scaler.get_scale()))

loss, correct = evaluate(model)
print('after training: loss {:.4f}, accuracy {}/{}'.format(loss, correct, len(dataset)))
state = scaler.state_dict()
print('scaler state:', sorted(state), state['scale'], state['_growth_tracker'])
