"""Low-rank adaptation (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language
Models"), written for the xpnn tests after the paper's recipe, on made-up data.

An MLP classifier is pretrained on one task (labels from a random linear teacher over
Gaussian inputs), then adapted to a shifted task (inputs shifted, the teacher rotated). The
base is frozen (``requires_grad_(False)`` over ``parameters()``); the selected ``nn.Linear``
submodules, found by ``named_modules()``, are replaced on their parent (``get_submodule``
of the parent's name, ``setattr``) by a ``LoRALinear`` wrapper: W x + (alpha / r) B A x,
with A initialised by ``nn.init.kaiming_uniform_(a=math.sqrt(5))`` and B by zeros. One
more layer is adapted through ``torch.nn.utils.parametrize.register_parametrization`` with
a low-rank delta module. The trainable parameter count is printed, the optimizer takes
``filter(lambda p: p.requires_grad, model.parameters())``; at the end the adapters are
merged (W += (B @ A) * scale under ``torch.no_grad``, and
``parametrize.remove_parametrizations(..., leave_parametrized=True)``) and the merged
model's outputs checked against the unmerged ones by ``torch.allclose``. Only the LoRA
weights ({k: v for k, v in state_dict().items() if "lora_" in k}) go through a BytesIO
into a fresh wrapped model by ``load_state_dict(strict=False)``.

    python tests/pytorch_programs/tutorials/lora_finetune.py
"""
import copy
import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
rng = np.random.default_rng(2)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

d_in, n_classes = 16, 4
teacher = rng.standard_normal((d_in, n_classes)).astype(np.float32)


def make_task(count, shift=0.0, angle=0.0):
    x = rng.standard_normal((count, d_in)).astype(np.float32) + shift
    w = teacher.copy()
    c, s = math.cos(angle), math.sin(angle)
    w[:2] = np.array([[c, -s], [s, c]], dtype=np.float32) @ w[:2]
    w[:, :2] = w[:, :2] @ np.array([[c, -s], [s, c]], dtype=np.float32)
    y = np.argmax((x - shift) @ w, axis=1)
    return torch.from_numpy(x), torch.from_numpy(y)


class Classifier(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x):
        return self.head(F.relu(self.fc2(F.relu(self.fc1(x)))))


class LoRALinear(nn.Module):
    def __init__(self, base, r=4, alpha=8):
        super().__init__()
        self.base = base
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling

    def merged(self):
        with torch.no_grad():
            self.base.weight += (self.lora_B @ self.lora_A) * self.scaling
        return self.base


class LowRankDelta(nn.Module):
    """A parametrization: W -> W + U V, U zeros, V small normal draws."""

    def __init__(self, out_features, in_features, r=2):
        super().__init__()
        self.lora_U = nn.Parameter(torch.zeros(out_features, r))
        self.lora_V = nn.Parameter(torch.randn(r, in_features) * 0.1)

    def forward(self, W):
        return W + self.lora_U @ self.lora_V


def add_lora(model, targets, r=4, alpha=8):
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and name.split('.')[-1] in targets:
            parent_name, _, child = name.rpartition('.')
            parent = model.get_submodule(parent_name)
            setattr(parent, child, LoRALinear(module, r, alpha))
    parametrize.register_parametrization(model.head, "weight",
                                         LowRankDelta(n_classes, model.head.in_features))
    return model


def train(model, loader, optimizer, epochs, tag, test):
    criterion = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        loss, acc = evaluate(model, *test)
        print(f'{tag} epoch {epoch} | train loss {total / len(loader):.4f} | '
              f'test loss {loss:.4f} | accuracy {acc:.3f}')


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        logits = model(x.to(device))
        loss = F.cross_entropy(logits, y.to(device)).item()
        acc = (logits.argmax(1) == y.to(device)).float().mean().item()
    return loss, acc


pre_train, pre_test = make_task(512), make_task(256)
new_train, new_test = make_task(512, shift=0.5, angle=1.0), make_task(256, shift=0.5, angle=1.0)

model = Classifier().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
train(model, DataLoader(TensorDataset(*pre_train), batch_size=64, shuffle=True), optimizer, 4,
      'pretrain', pre_test)
loss, acc = evaluate(model, *new_test)
print(f'pretrained on the shifted task | test loss {loss:.4f} | accuracy {acc:.3f}')
pretrained = copy.deepcopy(model.state_dict())

for p in model.parameters():
    p.requires_grad_(False)
add_lora(model, targets=('fc1', 'fc2'))
print(model)
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
total = sum(p.numel() for p in model.parameters())
print(f'trainable parameters {trainable} of {total} ({100 * trainable / total:.1f}%)')
print(f'parametrized head: {parametrize.is_parametrized(model.head, "weight")}, '
      f'original shape {tuple(model.head.parametrizations.weight.original.shape)}')
optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-2)
train(model, DataLoader(TensorDataset(*new_train), batch_size=64, shuffle=True), optimizer, 4,
      'lora', new_test)
frozen_same = all(torch.equal(v, pretrained[k]) for k, v in model.state_dict().items()
                  if k in pretrained)
print(f'frozen weights unchanged: {frozen_same}')

# save the adapters alone, load them into a freshly wrapped copy of the pretrained model
lora_state = {k: v for k, v in model.state_dict().items() if "lora_" in k}
print(f'adapter tensors {sorted(lora_state)}')
buffer = io.BytesIO()
torch.save(lora_state, buffer)
buffer.seek(0)
fresh = Classifier().to(device)
fresh.load_state_dict(pretrained)
fresh.requires_grad_(False)
add_lora(fresh, targets=('fc1', 'fc2'))
result = fresh.load_state_dict(torch.load(buffer), strict=False)
print(f'missing keys {len(result.missing_keys)}, unexpected keys {len(result.unexpected_keys)}')

# merge: fold B A into each base weight, and the parametrization into the head's weight
x = new_test[0].to(device)
fresh.eval()
with torch.no_grad():
    unmerged = fresh(x)
    for name, module in list(fresh.named_modules()):
        if isinstance(module, LoRALinear):
            parent_name, _, child = name.rpartition('.')
            setattr(fresh.get_submodule(parent_name), child, module.merged())
    parametrize.remove_parametrizations(fresh.head, "weight", leave_parametrized=True)
    merged = fresh(x)
print(f'merged == unmerged: {torch.allclose(merged, unmerged, atol=1e-5)}, max difference '
      f'{(merged - unmerged).abs().max().item():.2e}')
print(f'merged model has {sum(p.numel() for p in fresh.parameters())} parameters, '
      f'head parametrized: {parametrize.is_parametrized(fresh.head)}')
loss, acc = evaluate(fresh, *new_test)
print(f'merged on the shifted task | test loss {loss:.4f} | accuracy {acc:.3f}')
