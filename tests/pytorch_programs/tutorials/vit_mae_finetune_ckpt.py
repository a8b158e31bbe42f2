"""Fine-tuning a tiny Vision Transformer with a resumable checkpoint, written for the xpnn
tests after the usual "save and load a general checkpoint" recipe, on made-up images.

The ViT cuts 16x16 single-channel images into 4x4 patches by a strided ``nn.Conv2d``,
prepends a learned class token (``nn.Parameter`` expanded over the batch), adds learned
position embeddings, runs an ``nn.TransformerEncoder`` (``batch_first=True``,
``norm_first=True``, GELU) and classifies the class token after an ``nn.LayerNorm``. AdamW
takes two groups (no weight decay on biases, norms, the class token and the positions),
under ``SequentialLR(LinearLR, CosineAnnealingLR)``, with ``clip_grad_norm_``.

One run trains 6 epochs straight. Another starts from the same weights, trains 3 epochs,
saves ``{"model", "optimizer", "scheduler", "epoch"}`` state dicts by ``torch.save`` to a
file in a ``tempfile.TemporaryDirectory``, rebuilds model, optimizer and scheduler fresh,
restores them by ``torch.load(path, map_location="cpu", weights_only=True)`` and
``load_state_dict``, and trains the last 3 epochs: its losses equal the straight run's.

    python tests/pytorch_programs/tutorials/vit_mae_finetune_ckpt.py
"""
import copy
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, size = 4, 16


def make_images(count):
    """Each class is a bright bar in one of four places, on noise."""
    y = rng.integers(0, n_classes, count)
    x = rng.standard_normal((count, 1, size, size)).astype(np.float32) * 0.5
    for i, c in enumerate(y):
        if c < 2:
            x[i, 0, 4 * c + 2:4 * c + 5, :] += 1.5
        else:
            x[i, 0, :, 4 * (c - 2) + 6:4 * (c - 2) + 9] += 1.5
    return torch.from_numpy(x), torch.from_numpy(y)


class TinyViT(nn.Module):
    def __init__(self, patch=4, dim=32, depth=2, heads=4):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        n_patches = (size // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n_patches + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0,
                                           activation='gelu', batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x):
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)        # (B, N, dim)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed
        return self.head(self.norm(self.encoder(tokens))[:, 0])


def make_optimizer(model):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim < 2 or name in ('cls_token', 'pos_embed'):
            no_decay.append(p)
        else:
            decay.append(p)
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                                   {'params': no_decay, 'weight_decay': 0.0}], lr=2e-3)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.2, total_iters=8)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=40, eta_min=1e-5)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine],
                                                      milestones=[8])
    return optimizer, scheduler


x_train, y_train = make_images(256)
x_test, y_test = make_images(128)
batches = [(x_train[i:i + 32], y_train[i:i + 32]) for i in range(0, 256, 32)]


def train_epoch(model, optimizer, scheduler):
    model.train()
    total = 0.0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item()
    return total / len(batches)


def evaluate(model):
    model.eval()
    with torch.no_grad():
        logits = model(x_test.to(device))
        loss = F.cross_entropy(logits, y_test.to(device)).item()
        acc = (logits.argmax(1) == y_test.to(device)).float().mean().item()
    return loss, acc


model = TinyViT().to(device)
with torch.no_grad():
    model(x_train[:2].to(device))                # the first forward (the replay's model)
initial = copy.deepcopy(model.state_dict())
print(f'parameters {sum(p.numel() for p in model.parameters())}')

# -- the uninterrupted run ------------------------------------------------------------------
optimizer, scheduler = make_optimizer(model)
straight = []
for epoch in range(1, 7):
    train_loss = train_epoch(model, optimizer, scheduler)
    test_loss, acc = evaluate(model)
    straight.append(train_loss)
    print(f'straight epoch {epoch} | lr {scheduler.get_last_lr()[0]:.6f} | '
          f'train loss {train_loss:.4f} | test loss {test_loss:.4f} | accuracy {acc:.3f}')

# -- the interrupted run: 3 epochs, a checkpoint, fresh objects, 3 more ---------------------
model = TinyViT().to(device)
model.load_state_dict(initial)
optimizer, scheduler = make_optimizer(model)
resumed = []
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'checkpoint.pt')
    for epoch in range(1, 4):
        resumed.append(train_epoch(model, optimizer, scheduler))
        print(f'first part epoch {epoch} | train loss {resumed[-1]:.4f}')
    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
                'scheduler': scheduler.state_dict(), 'epoch': epoch}, path)
    print(f'saved after epoch {epoch}: {os.path.getsize(path) > 0}')
    del model, optimizer, scheduler

    model = TinyViT().to(device)
    optimizer, scheduler = make_optimizer(model)
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    model.load_state_dict(checkpoint['model'])
    optimizer.load_state_dict(checkpoint['optimizer'])
    scheduler.load_state_dict(checkpoint['scheduler'])
    start = checkpoint['epoch'] + 1
    print(f'resuming at epoch {start}, lr {scheduler.get_last_lr()[0]:.6f}, '
          f'optimizer steps {int(optimizer.state_dict()["state"][0]["step"])}')
    for epoch in range(start, 7):
        train_loss = train_epoch(model, optimizer, scheduler)
        test_loss, acc = evaluate(model)
        resumed.append(train_loss)
        print(f'resumed epoch {epoch} | lr {scheduler.get_last_lr()[0]:.6f} | '
              f'train loss {train_loss:.4f} | test loss {test_loss:.4f} | accuracy {acc:.3f}')

gap = max(abs(a - b) for a, b in zip(straight, resumed))
print(f'largest gap between the runs {gap:.2e}, same: {gap < 1e-5}')
