"""Sharpness-Aware Minimization (Foret et al., 2021, "Sharpness-Aware Minimization for
Efficiently Improving Generalization") as a ``torch.optim.Optimizer`` subclass, after the
widely used PyTorch implementation, on a made-up noisy classification task.

SAM wraps a base optimizer (SGD with momentum here) built on its own ``param_groups``.
``first_step`` climbs to the worst nearby point, e_w = rho * g / ||g||, by ``p.add_(e_w)``,
keeping e_w in ``self.state[p]``; ``second_step`` steps back by ``p.sub_`` and lets the base
optimizer step with the gradient taken there. The grad norm is the norm of
``torch.stack`` of per-parameter norms. ``step(closure)`` runs the closure under
``torch.enable_grad()`` for the second forward-backward. A model trained with SAM is
compared with a deepcopy trained with plain SGD; the state dict round-trips.

    python tests/pytorch_programs/tutorials/sam_optimizer.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(8)
rng = np.random.default_rng(8)
D, N_CLASSES = 16, 3


class SAM(torch.optim.Optimizer):
    def __init__(self, params, base_optimizer, rho=0.05, **kwargs):
        if rho < 0.0:
            raise ValueError(f'Invalid rho, should be non-negative: {rho}')
        defaults = dict(rho=rho, **kwargs)
        super().__init__(params, defaults)
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        grad_norm = self._grad_norm()
        for group in self.param_groups:
            scale = group['rho'] / (grad_norm + 1e-12)
            for p in group['params']:
                if p.grad is None:
                    continue
                e_w = p.grad * scale.to(p)
                p.add_(e_w)
                self.state[p]['e_w'] = e_w
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None or 'e_w' not in self.state[p]:
                    continue
                p.sub_(self.state[p]['e_w'])
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def step(self, closure=None):
        assert closure is not None, 'SAM needs a closure for its second forward-backward'
        closure = torch.enable_grad()(closure)
        self.first_step(zero_grad=True)
        closure()
        self.second_step()

    def _grad_norm(self):
        return torch.norm(torch.stack([p.grad.norm(p=2) for group in self.param_groups
                                       for p in group['params'] if p.grad is not None]), p=2)


def make_data(count):
    centres = np.random.default_rng(0).standard_normal((N_CLASSES, D)) * 1.2
    labels = rng.integers(0, N_CLASSES, count)
    x = centres[labels] + rng.standard_normal((count, D)) * 1.5
    flip = rng.random(count) < 0.1                     # label noise
    labels[flip] = rng.integers(0, N_CLASSES, flip.sum())
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


train_x, train_y = make_data(256)
test_x, test_y = make_data(512)
model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                      nn.Linear(64, N_CLASSES))


def evaluate(net):
    with torch.no_grad():
        out = net(test_x)
        return (F.cross_entropy(out, test_y).item(),
                (out.argmax(1) == test_y).float().mean().item())


def train(net, name, use_sam, epochs=6):
    if use_sam:
        optimizer = SAM(net.parameters(), torch.optim.SGD, rho=0.1, lr=0.05, momentum=0.9)
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)
    for epoch in range(1, epochs + 1):
        total = 0.0
        for x, y in loader:

            def closure():
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                return loss

            optimizer.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            if use_sam:
                optimizer.step(closure)
            else:
                optimizer.step()
            total += loss.item()
        test_loss, accuracy = evaluate(net)
        print(f'{name} epoch {epoch} | train loss {total / len(loader):.4f} | test loss '
              f'{test_loss:.4f} | accuracy {accuracy:.3f}')
    return optimizer


loss, accuracy = evaluate(model)
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}')
plain = copy.deepcopy(model)
sam = train(model, 'sam', use_sam=True)
train(plain, 'sgd', use_sam=False)

state = sam.state_dict()
restored = SAM(model.parameters(), torch.optim.SGD, rho=0.1, lr=0.05, momentum=0.9)
restored.load_state_dict(state)
same = all(torch.equal(restored.state[p]['e_w'], sam.state[p]['e_w'])
           for p in model.parameters())
momenta = len(sam.base_optimizer.state_dict()['state'])
print(f'state entries {len(state["state"])} | groups {len(state["param_groups"])} | rho '
      f'{state["param_groups"][0]["rho"]} | restored e_w equal: {same} | base momentum '
      f'buffers {momenta}')
