"""Model-agnostic meta-learning (Finn, Abbeel and Levine, 2017) on sine-wave regression,
written for the xpnn tests after the paper's sine experiment: each task is a sine wave
y = A sin(x + phase) with its own amplitude and phase, seen through 10 support points and
judged on 10 query points.

The network is an ordinary ``nn.Module``; a task's adapted network is the same module run
by ``torch.func.functional_call`` with a dict of "fast weights". Inner steps take the
support loss's gradient by ``torch.autograd.grad(..., create_graph=True)``, so the query
loss of the adapted weights backpropagates through the inner step (second order) into the
meta-parameters, which Adam updates. The mean query MSE of held-out tasks after 0, 1, 5 and
10 inner steps is printed before and after meta-training, and the meta-parameters go through
a ``state_dict`` into a fresh copy.

    python tests/pytorch_programs/tutorials/maml.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def sample_task():
    amplitude = rng.uniform(0.1, 5.0)
    phase = rng.uniform(0.0, math.pi)

    def draw(n):
        x = rng.uniform(-5.0, 5.0, size=(n, 1))
        y = amplitude * np.sin(x + phase)
        return (torch.from_numpy(x).float().to(device),
                torch.from_numpy(y).float().to(device))
    return draw(10), draw(10)


class SineNet(nn.Module):
    def __init__(self, hidden=40):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


def adapt(model, x, y, steps, inner_lr, create_graph):
    """The fast weights after ``steps`` gradient steps on the support set."""
    fast = dict(model.named_parameters())
    for _ in range(steps):
        loss = F.mse_loss(functional_call(model, fast, (x,)), y)
        grads = torch.autograd.grad(loss, list(fast.values()), create_graph=create_graph)
        fast = {name: w - inner_lr * g for (name, w), g in zip(fast.items(), grads)}
    return fast


test_tasks = [sample_task() for _ in range(8)]


def evaluate(model, steps_list=(0, 1, 5, 10), inner_lr=0.05):
    model.eval()
    results = []
    for steps in steps_list:
        total = 0.0
        for (xs, ys), (xq, yq) in test_tasks:
            fast = adapt(model, xs, ys, steps, inner_lr, create_graph=False)
            with torch.no_grad():
                total += F.mse_loss(functional_call(model, fast, (xq,)), yq).item()
        results.append(total / len(test_tasks))
    model.train()
    return results


model = SineNet().to(device)
print(model)
before = evaluate(model)
print('before meta-training | ' + ' | '.join(
    f'{k} steps mse {v:.4f}' for k, v in zip((0, 1, 5, 10), before)))

meta_opt = torch.optim.Adam(model.parameters(), lr=5e-3)
meta_batch, inner_lr = 4, 0.05
for it in range(1, 161):
    meta_opt.zero_grad()
    meta_loss = 0.0
    for _ in range(meta_batch):
        (xs, ys), (xq, yq) = sample_task()
        fast = adapt(model, xs, ys, 1, inner_lr, create_graph=True)
        meta_loss = meta_loss + F.mse_loss(functional_call(model, fast, (xq,)), yq)
    meta_loss = meta_loss / meta_batch
    meta_loss.backward()
    meta_opt.step()
    if it % 40 == 0:
        print(f'iteration {it:3d} | meta loss {meta_loss.item():.4f}')

after = evaluate(model)
print('after meta-training | ' + ' | '.join(
    f'{k} steps mse {v:.4f}' for k, v in zip((0, 1, 5, 10), after)))

copy = SineNet().to(device)
copy.load_state_dict(model.state_dict())
(xs, ys), (xq, yq) = test_tasks[0]
fast = adapt(copy, xs, ys, 10, inner_lr, create_graph=False)
with torch.no_grad():
    pred = functional_call(copy, fast, (xq,))
print(f'restored copy, task 0 after 10 steps: query mse {F.mse_loss(pred, yq).item():.4f}, '
      f'first prediction {pred[0, 0].item():.3f} (target {yq[0, 0].item():.3f})')
