"""The boilerplate real training scripts carry, around a small MLP regressor on made-up data,
written for the xpnn tests after the shape of PyTorch's examples and the reproducibility
notes: command-line arguments by ``argparse`` (defaults only here), the device chosen by
``torch.cuda.is_available()``, ``torch.backends.cudnn.benchmark`` / ``.deterministic``,
``torch.use_deterministic_algorithms(True, warn_only=True)``,
``torch.set_float32_matmul_precision("high")``, seeds for torch, CUDA and ``random``, a
DataLoader ``worker_init_fn`` seeding from ``torch.initial_seed()`` and a seeded
``generator``, ``torch.compile(model)`` with a fallback, a disabled ``torch.autocast``
region and disabled GradScalers (the AMP recipe switched off on CPU),
``model.to(device, non_blocking=True)``, evaluation under ``torch.inference_mode``, the best
checkpoint saved by ``torch.save`` into a temporary directory and loaded back by
``torch.load(map_location=device, weights_only=True)``, early stopping on the validation
loss, and a throughput measured by ``time.perf_counter`` (printed only as a flag, so the
output does not depend on the machine's speed).

    python tests/pytorch_programs/tutorials/training_boilerplate.py
"""
import argparse
import os
import random
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser(description='training boilerplate')
parser.add_argument('--epochs', type=int, default=12)
parser.add_argument('--batch-size', type=int, default=32)
parser.add_argument('--lr', type=float, default=3e-3)
parser.add_argument('--weight-decay', type=float, default=1e-4)
parser.add_argument('--patience', type=int, default=3)
parser.add_argument('--seed', type=int, default=11)
parser.add_argument('--num-workers', type=int, default=0)
parser.add_argument('--amp', action='store_true', help='mixed precision (off by default)')
parser.add_argument('--no-compile', dest='compile', action='store_false')
args = parser.parse_args()
print(f'args: {vars(args)}')

device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = False
if device.type == 'cpu':  # reproducible runs: deterministic kernels, no autotuning
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
torch.use_deterministic_algorithms(True, warn_only=True)
torch.set_float32_matmul_precision('high')
print(f'device {device.type}, cudnn benchmark {torch.backends.cudnn.benchmark}, '
      f'deterministic {torch.backends.cudnn.deterministic} / '
      f'{torch.are_deterministic_algorithms_enabled()}, '
      f'matmul precision {torch.get_float32_matmul_precision()}')


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2 ** 32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


seed_everything(args.seed)
print(f'initial seed {torch.initial_seed()}')
rng = np.random.default_rng(args.seed)


def make_set(count):
    x = rng.standard_normal((count, 8)).astype(np.float32)
    y = np.sin(x[:, :1] * 2) + x[:, 1:2] * x[:, 2:3] + 0.1 * rng.standard_normal((count, 1))
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))


train_set = TensorDataset(*make_set(512))
val_set = TensorDataset(*make_set(128))
g = torch.Generator()
g.manual_seed(args.seed)
train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                          num_workers=args.num_workers, worker_init_fn=seed_worker,
                          generator=g, pin_memory=device.type == 'cuda', drop_last=True)
val_loader = DataLoader(val_set, batch_size=64, shuffle=False,
                        num_workers=args.num_workers, pin_memory=device.type == 'cuda')


class Regressor(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                 nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


model = Regressor().to(device, non_blocking=True)
try:
    compiled = torch.compile(model) if args.compile else model
except Exception as exc:  # an old PyTorch or no compiler: run eagerly
    print(f'torch.compile unavailable ({type(exc).__name__}); running eagerly')
    compiled = model
optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
if hasattr(torch, 'amp') and hasattr(torch.amp, 'GradScaler'):
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp)
else:
    scaler = torch.cuda.amp.GradScaler(enabled=args.amp)
print(f'grad scaler enabled {scaler.is_enabled()}, scale {scaler.get_scale()}')


class EarlyStopping:
    def __init__(self, patience, min_delta=1e-4):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.bad_epochs = float('inf'), 0

    def step(self, loss):
        """True when the loss improved; sets self.stop after ``patience`` epochs without."""
        if loss < self.best - self.min_delta:
            self.best, self.bad_epochs = loss, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def stop(self):
        return self.bad_epochs >= self.patience


def train_one_epoch():
    compiled.train()
    total, seen = 0.0, 0
    start = time.perf_counter()
    for x, y in train_loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.amp):
            loss = F.mse_loss(compiled(x), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        total += loss.item() * x.size(0)
        seen += x.size(0)
    elapsed = time.perf_counter() - start
    return total / seen, seen / max(elapsed, 1e-9)


@torch.inference_mode()
def evaluate():
    compiled.eval()
    total = 0.0
    for x, y in val_loader:
        x, y = x.to(device), y.to(device)
        total += F.mse_loss(compiled(x), y, reduction='sum').item()
    return total / len(val_loader.dataset)


stopper = EarlyStopping(args.patience)
print(f'untrained | val loss {evaluate():.4f}')
with tempfile.TemporaryDirectory() as tmp:
    best_path = os.path.join(tmp, 'best.pt')
    for epoch in range(1, args.epochs + 1):
        train_loss, throughput = train_one_epoch()
        val_loss = evaluate()
        if stopper.step(val_loss):
            torch.save({'epoch': epoch, 'model': model.state_dict(),
                        'optimizer': optimizer.state_dict(), 'val_loss': val_loss}, best_path)
        print(f'epoch {epoch:2d} | train loss {train_loss:.4f} | val loss {val_loss:.4f} | '
              f'best {stopper.best:.4f} | throughput above 1 sample/s {throughput > 1}')
        if stopper.stop:
            print(f'early stop after epoch {epoch}')
            break
    checkpoint = torch.load(best_path, map_location=device, weights_only=True)
    print(f'checkpoint keys {sorted(checkpoint)}, epoch {checkpoint["epoch"]}, '
          f'optimizer state for {len(checkpoint["optimizer"]["state"])} parameters')

restored = Regressor().to(device)
restored.load_state_dict(checkpoint['model'])
restored.eval()
with torch.inference_mode():
    x, y = val_set[:]
    pred = restored(x.to(device))
    restored_loss = F.mse_loss(pred, y.to(device)).item()
print(f'restored best (epoch {checkpoint["epoch"]}) | val loss {restored_loss:.4f} | '
      f'inference tensor {pred.is_inference()}, requires grad {pred.requires_grad}')
