"""Optimizers written by the user, written for the xpnn tests after the usual recipe for
subclassing ``torch.optim.Optimizer``: Lion (Chen et al., 2023, "Symbolic Discovery of
Optimization Algorithms") and an Adafactor-style optimizer (Shazeer and Stern, 2018) whose
second moments of a matrix are factored into a row and a column vector.

Each optimizer passes its hyper-parameters as ``defaults`` to ``Optimizer.__init__``, reads
them back from ``param_groups`` (two groups: weights with weight decay, biases without),
keeps its slots in ``self.state[p]``, and updates in a ``@torch.no_grad()``
``step(closure=None)``. An MLP classifies made-up points, first under Lion, then (from the
same initial weights) under the Adafactor-style optimizer stepped with a closure. Halfway
through each run the optimizer's and the scheduler's ``state_dict()`` go into fresh objects
by ``load_state_dict()``, and training goes on with those. The learning rate follows
``SequentialLR``: a ``LinearLR`` warmup, then a user-written ``LRScheduler`` subclass
(inverse square-root decay from ``get_lr``, ``self.last_epoch`` and ``self.base_lrs``).

    python tests/pytorch_programs/tutorials/custom_optimizer_lion.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


class Lion(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if lr <= 0.0:
            raise ValueError(f'Invalid learning rate: {lr}')
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group['betas']
            for p in group['params']:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state['exp_avg'] = torch.zeros_like(p, memory_format=torch.preserve_format)
                exp_avg = state['exp_avg']
                p.mul_(1 - group['lr'] * group['weight_decay'])
                update = exp_avg.mul(beta1).add_(p.grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-group['lr'])
                exp_avg.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss


class FactoredAdafactor(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-2, decay_rate=-0.8, eps=1e-30, clip_threshold=1.0,
                 weight_decay=0.0):
        defaults = dict(lr=lr, decay_rate=decay_rate, eps=eps, clip_threshold=clip_threshold,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                factored = p.dim() == 2
                if len(state) == 0:
                    state['step'] = torch.tensor(0.0)
                    if factored:
                        state['exp_avg_sq_row'] = grad.new_zeros(p.shape[0])
                        state['exp_avg_sq_col'] = grad.new_zeros(p.shape[1])
                    else:
                        state['exp_avg_sq'] = torch.zeros_like(p)
                state['step'] += 1
                beta2t = 1.0 - state['step'].item() ** group['decay_rate']
                sq = grad.square() + group['eps']
                if factored:
                    row, col = state['exp_avg_sq_row'], state['exp_avg_sq_col']
                    row.mul_(beta2t).add_(sq.mean(dim=1), alpha=1.0 - beta2t)
                    col.mul_(beta2t).add_(sq.mean(dim=0), alpha=1.0 - beta2t)
                    v = torch.outer(row, col) / row.mean()
                else:
                    v = state['exp_avg_sq']
                    v.mul_(beta2t).add_(sq, alpha=1.0 - beta2t)
                update = grad * v.rsqrt()
                rms = update.square().mean().sqrt()
                update.div_((rms / group['clip_threshold']).clamp_(min=1.0))
                if group['weight_decay'] > 0:
                    p.mul_(1 - group['lr'] * group['weight_decay'])
                p.add_(update, alpha=-group['lr'])
        return loss


class InverseSqrtLR(torch.optim.lr_scheduler.LRScheduler):
    """lr = base_lr * sqrt(warmup / (warmup + steps since the start))."""

    def __init__(self, optimizer, warmup, last_epoch=-1):
        self.warmup = warmup
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        scale = (self.warmup / (self.warmup + self.last_epoch)) ** 0.5
        return [base_lr * scale for base_lr in self.base_lrs]


# three classes on a noisy spiral, 2-D points lifted to 8 features
n, classes = 480, 3
label = rng.integers(0, classes, n)
radius = rng.uniform(0.2, 1.0, n)
angle = label * 2 * np.pi / classes + radius * 3.0 + rng.normal(0, 0.2, n)
pts = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
feats = np.concatenate([pts, pts ** 2, pts[:, :1] * pts[:, 1:], np.sin(3 * pts), pts ** 3],
                       1)[:, :8]
x_all = torch.tensor(feats, dtype=torch.float32)
y_all = torch.tensor(label)
train = TensorDataset(x_all[:384], y_all[:384])
x_test, y_test = x_all[384:].to(device), y_all[384:].to(device)
loader = DataLoader(train, batch_size=32, shuffle=True)

model = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 32), nn.GELU(),
                      nn.Linear(32, classes)).to(device)
with torch.no_grad():
    print(f'untrained test loss {F.cross_entropy(model(x_test), y_test).item():.4f}')
initial = copy.deepcopy(model.state_dict())


def groups(model, weight_decay):
    decay = [p for name, p in model.named_parameters() if name.endswith('weight')]
    no_decay = [p for name, p in model.named_parameters() if not name.endswith('weight')]
    return [{'params': decay, 'weight_decay': weight_decay},
            {'params': no_decay, 'weight_decay': 0.0}]


def make_schedule(optimizer):
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=6)
    decay = InverseSqrtLR(optimizer, warmup=6)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[6])


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(x_test)
        return (F.cross_entropy(logits, y_test).item(),
                (logits.argmax(1) == y_test).float().mean().item())


def run(name, make_optimizer, use_closure, epochs=8):
    model.load_state_dict(initial)
    optimizer = make_optimizer(groups(model, 0.1))
    scheduler = make_schedule(optimizer)
    print(f'{name}: defaults {sorted(optimizer.defaults)}, groups '
          f'{[g["weight_decay"] for g in optimizer.param_groups]}')
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)

            def closure():
                optimizer.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                return loss

            if use_closure:
                loss = optimizer.step(closure)
            else:
                loss = closure()
                optimizer.step()
            scheduler.step()
            total += loss.item() * len(xb)
        test_loss, acc = evaluate()
        print(f'{name} epoch {epoch} | train loss {total / len(train):.4f} | test loss '
              f'{test_loss:.4f} | acc {acc:.3f} | lr {scheduler.get_last_lr()[0]:.5f}')
        if epoch == epochs // 2:
            saved_opt, saved_sched = optimizer.state_dict(), scheduler.state_dict()
            fresh = make_optimizer(groups(model, 0.1))
            fresh_sched = make_schedule(fresh)
            fresh.load_state_dict(saved_opt)
            fresh_sched.load_state_dict(saved_sched)
            first = next(iter(fresh.state.values()))
            old = next(iter(optimizer.state.values()))
            same = all(torch.equal(first[k], old[k]) for k in old)
            print(f'{name}: resumed into a fresh optimizer, {len(fresh.state)} states '
                  f'{sorted(first)}, equal {same}, lr {fresh.param_groups[0]["lr"]:.5f}, '
                  f'last_epoch {fresh_sched.last_epoch}')
            optimizer, scheduler = fresh, fresh_sched
    return optimizer


run('lion', lambda g: Lion(g, lr=3e-3, weight_decay=0.1), use_closure=False)
opt = run('adafactor', lambda g: FactoredAdafactor(g, lr=3e-2), use_closure=True)
first_w = model[0].weight
print('factored state', {k: tuple(v.shape) for k, v in opt.state[first_w].items()})
