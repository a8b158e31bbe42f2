"""What a modern PyTorch 2 training script wraps its loop in, written for the xpnn tests
on made-up images: a small CNN classifier with the boilerplate around it.

``torch.set_float32_matmul_precision("high")``; the model moved to
``memory_format=torch.channels_last`` (and the batches too) and wrapped by
``torch.compile(model)`` for training and ``torch.compile(model, mode="reduce-overhead",
fullgraph=False)`` for evaluation (the compiled wrappers share the parameters); a
``torch.Generator`` seeded for ``random_split`` and another for the ``DataLoader``'s
shuffle; ``optimizer.zero_grad(set_to_none=True)``; ``torch.nn.utils.clip_grad_value_``;
``model.train()`` / ``model.eval()`` switching BatchNorm's statistics; evaluation under
``torch.inference_mode()``; a checkpoint dict (model and optimizer state, epoch, best loss)
written by ``torch.save`` into a ``tempfile.TemporaryDirectory`` and read back by
``torch.load(weights_only=True)`` into a fresh model that must predict the same; and a last
evaluation under ``torch.autocast("cpu", dtype=torch.bfloat16)``.

    python tests/pytorch_programs/tutorials/torch_compile_boilerplate.py
"""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(11)
torch.set_float32_matmul_precision("high")
rng = np.random.default_rng(11)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

n_classes, side = 4, 12


def make_images(count):
    y = rng.integers(0, n_classes, count)
    x = 0.5 * rng.standard_normal((count, 3, side, side))
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, c % 3, r * 6:(r + 1) * 6, q * 6:(q + 1) * 6] += 1.5
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16, n_classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        h = F.relu(self.conv2(h))
        h = F.adaptive_avg_pool2d(h, 1).flatten(1)
        return self.fc(h)


images, labels = make_images(480)
full = TensorDataset(images, labels)
split_gen = torch.Generator().manual_seed(42)
train_set, val_set = random_split(full, [0.75, 0.25], generator=split_gen)
print("split sizes", len(train_set), len(val_set))
loader_gen = torch.Generator()
loader_gen.manual_seed(0)
train_loader = DataLoader(train_set, batch_size=40, shuffle=True, generator=loader_gen)
val_loader = DataLoader(val_set, batch_size=60)

model = SmallCNN().to(device, memory_format=torch.channels_last)
print("channels_last weight:", model.conv1.weight.is_contiguous(memory_format=torch.channels_last))
compiled = torch.compile(model)
compiled_eval = torch.compile(model, mode="reduce-overhead", fullgraph=False)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)


def evaluate(net, loader, autocast=False):
    net.eval()
    total, correct, count = 0.0, 0, 0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for xb, yb in loader:
            xb = xb.to(device, memory_format=torch.channels_last)
            logits = net(xb)
            total += F.cross_entropy(logits.float(), yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
            count += len(yb)
    return total / count, correct / count


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "best.pt")
    best = float("inf")
    for epoch in range(1, 7):
        compiled.train()
        running = 0.0
        for xb, yb in train_loader:
            xb = xb.to(device, memory_format=torch.channels_last)
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(compiled(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
            optimizer.step()
            running += loss.item() * len(yb)
        val_loss, val_acc = evaluate(compiled_eval, val_loader)
        print(f"epoch {epoch} | train loss {running / len(train_set):.4f} | val loss "
              f"{val_loss:.4f} | val accuracy {val_acc:.4f} | grads cleared "
              f"{all(p.grad is not None for p in model.parameters())}")
        if val_loss < best:
            best = val_loss
            torch.save({"epoch": epoch, "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "best": best}, path)

    optimizer.zero_grad(set_to_none=True)
    print("grads None after zero_grad(set_to_none=True):",
          all(p.grad is None for p in model.parameters()))
    ckpt = torch.load(path, weights_only=True)
    restored = SmallCNN().to(memory_format=torch.channels_last)
    restored.load_state_dict(ckpt["model"])
    fresh_opt = torch.optim.AdamW(restored.parameters(), lr=3e-3, weight_decay=1e-2)
    fresh_opt.load_state_dict(ckpt["optimizer"])
    print(f"best epoch {ckpt['epoch']} | best val loss {ckpt['best']:.4f} | optimizer steps "
          f"{int(fresh_opt.state_dict()['state'][0]['step'])}")

r_loss, r_acc = evaluate(restored, val_loader)
print(f"restored val loss {r_loss:.4f} | val accuracy {r_acc:.4f} | same as best "
      f"{abs(r_loss - ckpt['best']) < 1e-5}")
bf_loss, bf_acc = evaluate(restored, val_loader, autocast=True)
print(f"bfloat16 autocast val accuracy {bf_acc:.4f} | loss within 0.05 of float32 "
      f"{abs(bf_loss - r_loss) < 0.05}")
print("matmul precision", torch.get_float32_matmul_precision())
