"""Elastic weight consolidation (Kirkpatrick et al., 2017) on three permuted-pixel tasks,
written for the xpnn tests on made-up 8x8 "digits".

The tasks share one classifier; task t sees the pixels shuffled by a permutation drawn by
``torch.randperm(64, generator=g)`` on a seeded ``torch.Generator`` (task 0 keeps the
identity). After each task:

* the diagonal Fisher information is estimated from per-sample gradients,
  ``torch.func.vmap(torch.func.grad(loss_one))`` over ``torch.func.functional_call(model,
  params, x)``, squared and averaged;
* the parameters are snapshotted by ``{n: p.detach().clone() for n, p in
  model.named_parameters()}``, and the whole model by ``copy.deepcopy(model)``;
* an ``EWCPenalty`` module stores the means and Fisher diagonals of every finished task as
  buffers (``register_buffer``), and adds ``lam / 2 * sum(F * (p - mean) ** 2)`` to the loss
  of the next tasks;
* the model's ``state_dict()`` goes through ``io.BytesIO`` by ``torch.save`` / ``torch.load``
  into a fresh model, whose predictions must equal the deepcopy's.

The accuracy on every task seen so far is printed after each task, for plain fine-tuning
and for EWC.

    python tests/pytorch_programs/tutorials/ewc_continual_learning.py
"""
import copy
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)

D, C, per_class = 64, 4, 60
prototypes = rng.standard_normal((C, D)).astype(np.float32)


def make_split(n_per_class):
    x = np.concatenate([p + 2.0 * rng.standard_normal((n_per_class, D)) for p in prototypes])
    y = np.repeat(np.arange(C), n_per_class)
    order = rng.permutation(len(x))
    return torch.from_numpy(x[order].astype(np.float32)), torch.from_numpy(y[order])


x_train, y_train = make_split(per_class)
x_test, y_test = make_split(25)
g = torch.Generator().manual_seed(7)
perms = [torch.arange(D)] + [torch.randperm(D, generator=g) for _ in range(2)]
print(f'tasks {len(perms)}, train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, '
      f'permutations are permutations: '
      f'{all(torch.equal(p.sort().values, torch.arange(D)) for p in perms)}')


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, 48)
        self.fc2 = nn.Linear(48, C)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class EWCPenalty(nn.Module):
    """Stores each finished task's parameter means and Fisher diagonals as buffers."""

    def __init__(self, lam):
        super().__init__()
        self.lam = lam
        self.tasks = 0

    def consolidate(self, means, fisher):
        for name in means:
            key = name.replace('.', '_')
            self.register_buffer(f'mean{self.tasks}_{key}', means[name])
            self.register_buffer(f'fisher{self.tasks}_{key}', fisher[name])
        self.tasks += 1

    def forward(self, model):
        total = torch.zeros(())
        for t in range(self.tasks):
            for name, p in model.named_parameters():
                key = name.replace('.', '_')
                mean = getattr(self, f'mean{t}_{key}')
                fisher = getattr(self, f'fisher{t}_{key}')
                total = total + (fisher * (p - mean) ** 2).sum()
        return self.lam / 2 * total


def diagonal_fisher(model, x, y):
    params = {n: p.detach() for n, p in model.named_parameters()}

    def loss_one(params, xi, yi):
        out = functional_call(model, params, (xi.unsqueeze(0),))
        return F.cross_entropy(out, yi.unsqueeze(0))

    per_sample = vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y)
    return {n: (g_ ** 2).mean(0) for n, g_ in per_sample.items()}


def accuracy(model, task):
    with torch.no_grad():
        pred = model(x_test[:, perms[task]]).argmax(1)
    return (pred == y_test).float().mean().item()


def train_task(model, task, penalty, epochs=3, batch=40):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    xs = x_train[:, perms[task]]
    for epoch in range(epochs):
        total_ce = total_pen = 0.0
        for i in range(0, len(xs), batch):
            out = model(xs[i:i + batch])
            ce = F.cross_entropy(out, y_train[i:i + batch])
            pen = penalty(model) if penalty is not None else torch.zeros(())
            loss = ce + pen
            opt.zero_grad()
            loss.backward()
            opt.step()
            total_ce += ce.item()
            total_pen += pen.item()
        steps = len(xs) // batch
        print(f'task {task} epoch {epoch} | ce {total_ce / steps:.4f} | '
              f'penalty {total_pen / steps:.4f}')


base = MLP()
with torch.no_grad():
    print(f'initial test loss {F.cross_entropy(base(x_test), y_test).item():.4f}')
start_state = copy.deepcopy(base.state_dict())
for method in ('finetune', 'ewc'):
    model = MLP()
    model.load_state_dict(start_state)
    penalty = EWCPenalty(lam=40.0) if method == 'ewc' else None
    snapshots = []
    for task in range(len(perms)):
        train_task(model, task, penalty)
        accs = [accuracy(model, t) for t in range(task + 1)]
        print(f'{method} after task {task} | accuracies '
              + ' '.join(f'{a:.3f}' for a in accs) + f' | mean {sum(accs) / len(accs):.3f}')
        means = {n: p.detach().clone() for n, p in model.named_parameters()}
        snapshots.append(copy.deepcopy(model))
        if penalty is not None:
            fisher = diagonal_fisher(model, x_train[:, perms[task]], y_train)
            sizes = ' '.join(f'{n}={f.sum().item():.5f}' for n, f in fisher.items())
            print(f'fisher task {task} | {sizes}')
            penalty.consolidate(means, fisher)
    # the deepcopy made after the first task still classifies the first task as it did
    first = snapshots[0]
    print(f'{method} snapshot after task 0 | task 0 accuracy {accuracy(first, 0):.3f} | '
          f'requires_grad {all(p.requires_grad for p in first.parameters())} | '
          f'shares storage {first.fc1.weight.data_ptr() == model.fc1.weight.data_ptr()}')
    if penalty is not None:
        names = sorted(n for n, _ in penalty.named_buffers())
        print(f'ewc buffers {len(names)} | {names[:4]}')
        buffer_file = io.BytesIO()
        torch.save(penalty.state_dict(), buffer_file)
        print(f'penalty state_dict keys {len(penalty.state_dict())}')

    buffer_file = io.BytesIO()
    torch.save(model.state_dict(), buffer_file)
    buffer_file.seek(0)
    restored = MLP()
    restored.load_state_dict(torch.load(buffer_file))
    restored.eval()
    with torch.no_grad():
        same = torch.equal(restored(x_test), snapshots[-1](x_test))
    print(f'{method} state_dict round trip equal {same} | keys {list(restored.state_dict())}')
