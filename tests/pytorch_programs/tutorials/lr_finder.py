"""A learning-rate range test (Smith, 2017, "Cyclical Learning Rates for Training Neural
Networks"; the fastai/"torch-lr-finder" recipe) followed by training under one-cycle and
warmup-cosine schedules, written for the xpnn tests on a made-up tabular classification task.

The model is an MLP with LayerNorm. Its parameters are split into two AdamW groups by
``named_parameters()``: weight decay for the weight matrices only, none for the biases and
the norm weights (``ndim`` and the name decide). The range test raises the learning rate
exponentially over 40 steps by writing ``optimizer.param_groups[i]["lr"]``, keeps an
exponentially smoothed (bias-corrected) loss, stops early once it diverges, and picks a tenth
of the rate at the smoothed minimum; the model and optimizer are then restored from
``copy.deepcopy(model.state_dict())`` and ``optimizer.state_dict()``. Training runs under
``OneCycleLR`` with gradient accumulation over 2 micro-batches, is checkpointed after 3
epochs (model, optimizer, scheduler and epoch in one dict through ``torch.save`` into an
``io.BytesIO``) and resumed in fresh objects; then the same start is trained under a
``SequentialLR`` of ``LinearLR`` warmup and ``CosineAnnealingLR``. The learning-rate trace is
printed at a few steps.

    python tests/pytorch_programs/tutorials/lr_finder.py
"""
import copy
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

in_dim, n_classes = 20, 4
teacher = rng.normal(size=(in_dim, n_classes)).astype(np.float32)


def make_set(count):
    x = rng.normal(size=(count, in_dim)).astype(np.float32)
    logits = np.tanh(x) @ teacher + 0.5 * rng.normal(size=(count, n_classes))
    return torch.from_numpy(x), torch.from_numpy(logits.argmax(1))


train_x, train_y = make_set(512)
val_x, val_y = make_set(256)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)


class MLP(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.norm1 = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, x):
        x = F.relu(self.norm1(self.fc1(x)))
        x = F.relu(self.norm2(self.fc2(x)))
        return self.out(x)


def param_groups(model, weight_decay=0.05):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim < 2 or 'norm' in name or name.endswith('.bias'):
            no_decay.append(param)
        else:
            decay.append(param)
    return [{'params': decay, 'weight_decay': weight_decay},
            {'params': no_decay, 'weight_decay': 0.0}]


def evaluate(model):
    model.eval()
    with torch.no_grad():
        loss = F.cross_entropy(model(val_x.to(device)), val_y.to(device)).item()
    model.train()
    return loss


model = MLP().to(device)
groups = param_groups(model)
print(f'decayed tensors {len(groups[0]["params"])}, not decayed {len(groups[1]["params"])}')
optimizer = torch.optim.AdamW(groups, lr=1e-3)
print(f'untrained | val loss {evaluate(model):.4f}')

# -- the range test ---------------------------------------------------------------------------
init_model = copy.deepcopy(model.state_dict())
init_optimizer = copy.deepcopy(optimizer.state_dict())
start_lr, end_lr, num_iter, beta = 1e-5, 3.0, 40, 0.8
lrs, losses = [], []
avg_loss, best_loss = 0.0, math.inf
batches = iter(loader)
for i in range(num_iter):
    lr = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))
    for group in optimizer.param_groups:
        group['lr'] = lr
    try:
        x, y = next(batches)
    except StopIteration:
        batches = iter(loader)
        x, y = next(batches)
    loss = F.cross_entropy(model(x.to(device)), y.to(device))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    avg_loss = beta * avg_loss + (1 - beta) * loss.item()
    smoothed = avg_loss / (1 - beta ** (i + 1))
    lrs.append(lr)
    losses.append(smoothed)
    best_loss = min(best_loss, smoothed)
    if i > 5 and smoothed > 4 * best_loss:
        print(f'range test stopped at step {i}: smoothed loss {smoothed:.3f} > 4 x best')
        break
best = int(np.argmin(losses))
chosen_lr = lrs[best] / 10
print(f'range test: {len(lrs)} steps, smoothed minimum {losses[best]:.4f} at lr '
      f'{lrs[best]:.3g}; chosen max lr {chosen_lr:.3g}')
model.load_state_dict(init_model)
optimizer.load_state_dict(init_optimizer)
print(f'restored | val loss {evaluate(model):.4f} | lr {optimizer.param_groups[0]["lr"]}, '
      f'state {len(optimizer.state)}')

# -- one-cycle training with gradient accumulation, checkpointed and resumed ------------------
epochs, accumulation = 6, 2
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=chosen_lr,
                                                total_steps=epochs * len(loader))
trace_steps = (0, 5, 15, 30, 47)


def train_epoch(model, optimizer, scheduler, step, accumulation):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        for xc, yc in zip(x.chunk(accumulation), y.chunk(accumulation)):
            loss = F.cross_entropy(model(xc), yc) / accumulation
            loss.backward()
            total += loss.item()
        optimizer.step()
        scheduler.step()
        if step in trace_steps:
            print(f'  step {step}: lr {scheduler.get_last_lr()[0]:.5f} / '
                  f'{optimizer.param_groups[1]["lr"]:.5f}')
        step += 1
    return total / len(loader), step


step = 0
buffer = io.BytesIO()
for epoch in range(1, 4):
    train_loss, step = train_epoch(model, optimizer, scheduler, step, accumulation)
    print(f'one-cycle epoch {epoch} | train loss {train_loss:.4f} | val loss '
          f'{evaluate(model):.4f}')
torch.save({'epoch': 3, 'step': step, 'model': model.state_dict(),
            'optimizer': optimizer.state_dict(), 'scheduler': scheduler.state_dict()}, buffer)
print(f'checkpoint: {buffer.tell()} bytes')

buffer.seek(0)
checkpoint = torch.load(buffer)
resumed = MLP().to(device)
resumed.load_state_dict(checkpoint['model'])
optimizer = torch.optim.AdamW(param_groups(resumed), lr=1e-3)
optimizer.load_state_dict(checkpoint['optimizer'])
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=chosen_lr,
                                                total_steps=epochs * len(loader))
scheduler.load_state_dict(checkpoint['scheduler'])
step = checkpoint['step']
print(f'resumed at epoch {checkpoint["epoch"]}, step {step}, lr {scheduler.get_last_lr()[0]:.5f}')
for epoch in range(checkpoint['epoch'] + 1, epochs + 1):
    train_loss, step = train_epoch(resumed, optimizer, scheduler, step, accumulation)
    print(f'one-cycle epoch {epoch} | train loss {train_loss:.4f} | val loss '
          f'{evaluate(resumed):.4f}')

# -- the same start under linear warmup then cosine annealing ----------------------------------
resumed.load_state_dict(init_model)
optimizer = torch.optim.AdamW(param_groups(resumed), lr=chosen_lr)
warmup = len(loader)
scheduler = torch.optim.lr_scheduler.SequentialLR(
    optimizer,
    schedulers=[torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1,
                                                  total_iters=warmup),
                torch.optim.lr_scheduler.CosineAnnealingLR(
                    optimizer, T_max=epochs * len(loader) - warmup)],
    milestones=[warmup])
step = 0
for epoch in range(1, epochs + 1):
    train_loss, step = train_epoch(resumed, optimizer, scheduler, step, 1)
    print(f'warmup-cosine epoch {epoch} | train loss {train_loss:.4f} | val loss '
          f'{evaluate(resumed):.4f}')
