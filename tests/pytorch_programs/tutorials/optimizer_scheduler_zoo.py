"""A zoo of torch.optim optimizers and learning-rate schedulers, after PyTorch's
"How to adjust learning rate" documentation: one small regression MLP trained in turn,
from the same deepcopy'd start, under eight optimizers with non-default arguments, each
paired with a scheduler.

    Rprop(etas, step_sizes)                   ReduceLROnPlateau(patience, factor)
    ASGD(t0, lambd)                           CyclicLR(mode="triangular2", cycle_momentum=False)
    NAdam(momentum_decay, decoupled wd)       OneCycleLR
    RAdam(decoupled_weight_decay=True)        SequentialLR(LinearLR, CosineAnnealingLR)
    Adamax(betas)                             ChainedScheduler(ConstantLR, ExponentialLR)
    Adadelta(rho)                             LambdaLR
    Adagrad(lr_decay, initial_accumulator)    PolynomialLR(power=2)
    SGD(nesterov=True, momentum, wd)          MultiStepLR, plus add_param_group mid-run

Then an optimizer.state_dict() / load_state_dict round trip: a NAdam run is copied halfway
(model and optimizer state dicts, deepcopy'd), a fresh model and optimizer resume from the
copy, and the resumed steps are checked to continue the uninterrupted run exactly.

    python tests/pytorch_programs/tutorials/optimizer_scheduler_zoo.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import lr_scheduler

torch.manual_seed(0)
rng = np.random.default_rng(0)
STEPS = 60

x_np = rng.standard_normal((256, 6)).astype(np.float32)
w_np = rng.standard_normal((6, 1)).astype(np.float32)
y_np = np.tanh(x_np @ w_np) + 0.3 * np.sin(2.0 * x_np[:, :1]) + 0.05 * rng.standard_normal((256, 1))
x = torch.tensor(x_np)
y = torch.tensor(y_np.astype(np.float32))
x_test = torch.tensor(rng.standard_normal((128, 6)).astype(np.float32))
y_test = torch.tanh(x_test @ torch.tensor(w_np)) + 0.3 * torch.sin(2.0 * x_test[:, :1])


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh())
        self.head = nn.Linear(32, 1)

    def forward(self, inputs):
        return self.head(self.body(inputs))


model = Regressor()
with torch.no_grad():
    print(f"untrained | test mse {F.mse_loss(model(x_test), y_test).item():.5f}")
start = copy.deepcopy(model.state_dict())


def make(kind, params):
    """The optimizer and its scheduler; `per` says what the scheduler steps on."""
    if kind == "rprop":
        opt = torch.optim.Rprop(params, lr=0.01, etas=(0.4, 1.3), step_sizes=(1e-5, 0.5))
        return opt, lr_scheduler.ReduceLROnPlateau(opt, mode="min", patience=2, factor=0.5,
                                                       threshold=1e-3, threshold_mode="abs")
    if kind == "asgd":
        opt = torch.optim.ASGD(params, lr=0.05, t0=20, lambd=1e-3, alpha=0.75)
        return opt, lr_scheduler.CyclicLR(opt, base_lr=0.005, max_lr=0.08, step_size_up=10,
                                          mode="triangular2", cycle_momentum=False)
    if kind == "nadam":
        opt = torch.optim.NAdam(params, lr=0.01, weight_decay=0.01, momentum_decay=4e-3,
                                decoupled_weight_decay=True)
        return opt, lr_scheduler.OneCycleLR(opt, max_lr=0.03, total_steps=STEPS)
    if kind == "radam":
        opt = torch.optim.RAdam(params, lr=0.02, weight_decay=0.01,
                                decoupled_weight_decay=True)
        warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10)
        cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS - 10, eta_min=1e-4)
        return opt, lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[10])
    if kind == "adamax":
        opt = torch.optim.Adamax(params, lr=0.02, betas=(0.8, 0.99))
        return opt, lr_scheduler.ChainedScheduler([
            lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=10),
            lr_scheduler.ExponentialLR(opt, gamma=0.98)])
    if kind == "adadelta":
        opt = torch.optim.Adadelta(params, lr=1.0, rho=0.8)
        return opt, lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1.0 + 0.05 * step))
    if kind == "adagrad":
        opt = torch.optim.Adagrad(params, lr=0.05, lr_decay=1e-3,
                                  initial_accumulator_value=0.1)
        return opt, lr_scheduler.PolynomialLR(opt, total_iters=STEPS, power=2.0)
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    return opt, lr_scheduler.MultiStepLR(opt, milestones=[20, 40], gamma=0.3)


def train(kind):
    model.load_state_dict(start)
    params = list(model.parameters())
    if kind == "sgd":
        # the head joins later, in a group of its own
        params = list(model.body.parameters())
    optimizer, scheduler = make(kind, params)
    for step in range(STEPS):
        if kind == "sgd" and step == 30:
            optimizer.add_param_group({"params": model.head.parameters(), "lr": 0.02,
                                       "momentum": 0.5})
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(loss.item())
        else:
            scheduler.step()
        if step % 20 == 19:
            lrs = ", ".join(f"{lr:.6f}" for lr in scheduler.get_last_lr())
            print(f"{kind:8s} step {step + 1:2d} | loss {loss.item():.5f} | lr [{lrs}]")
    with torch.no_grad():
        test = F.mse_loss(model(x_test), y_test).item()
    print(f"{kind:8s} done | test mse {test:.5f} | groups {len(optimizer.param_groups)}")
    return test


results = {kind: train(kind) for kind in
           ["rprop", "asgd", "nadam", "radam", "adamax", "adadelta", "adagrad", "sgd"]}
best = min(results, key=results.get)
print(f"best optimizer: {best} | zoo mean test mse {sum(results.values()) / len(results):.5f}")

# the round trip: run NAdam 40 steps, copying everything at step 20
model.load_state_dict(start)
optimizer = torch.optim.NAdam(model.parameters(), lr=0.01, momentum_decay=4e-3)
losses, saved = [], None
for step in range(40):
    if step == 20:
        saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict()))
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

resumed_model = Regressor()
resumed_model.load_state_dict(saved[0])
resumed_opt = torch.optim.NAdam(resumed_model.parameters(), lr=0.5)
resumed_opt.load_state_dict(saved[1])
print(f"restored lr {resumed_opt.param_groups[0]['lr']} | "
      f"step count {int(resumed_opt.state[resumed_opt.param_groups[0]['params'][0]]['step'])}")
resumed = []
for step in range(20, 40):
    resumed_opt.zero_grad()
    loss = F.mse_loss(resumed_model(x), y)
    loss.backward()
    resumed_opt.step()
    resumed.append(loss.item())
same = all(torch.equal(a, b) for a, b in zip(model.parameters(), resumed_model.parameters()))
print(f"resumed run continues identically: {same} | "
      f"max loss difference {max(abs(a - b) for a, b in zip(losses[20:], resumed)):.1e}")
print(f"nadam round trip | final loss {losses[-1]:.5f}")
