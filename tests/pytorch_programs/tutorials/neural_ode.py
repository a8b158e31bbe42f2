"""A neural ODE (Chen et al., 2018) fitted to a spiral, written for the xpnn tests after
torchdiffeq's ode_demo: the observed trajectory, a damped spiral dy/dt = y @ A observed
with noise at 80 times, and an MLP f(y) that learns the dynamics from random
sub-trajectories of 10 steps.

No ODE library: a hand-written fixed-step fourth-order Runge-Kutta integrator in a Python
loop, the states collected with ``torch.stack``; backpropagation goes through every step.
Before training, the integrator is checked on a linear ODE dx/dt = A x in float64 against
its exact solution ``torch.linalg.matrix_exp(A * t) @ x0``. MSE to the observed trajectory,
Adam; the loss over the whole trajectory from its first state is printed as it falls, and
the learned dynamics' Jacobian (``torch.autograd.functional.jacobian``) is compared with A's.

    python tests/pytorch_programs/tutorials/neural_ode.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(6)
rng = random.Random(6)
device = 'cuda' if torch.cuda.is_available() else 'cpu'


def rk4_step(func, y, dt):
    k1 = func(y)
    k2 = func(y + dt / 2 * k1)
    k3 = func(y + dt / 2 * k2)
    k4 = func(y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def odeint(func, y0, t, substeps=1):
    """The states at the times ``t`` (shape (len(t), *y0.shape)) from ``y0`` at t[0]."""
    ys = [y0]
    y = y0
    for i in range(len(t) - 1):
        dt = (t[i + 1] - t[i]) / substeps
        for _ in range(substeps):
            y = rk4_step(func, y, dt)
        ys.append(y)
    return torch.stack(ys)


# the integrator on a linear ODE against the matrix exponential, in float64
A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=torch.float64)
x0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
t_check = torch.linspace(0.0, 2.0, 21, dtype=torch.float64)
xs = odeint(lambda x: A @ x, x0, t_check)
exact = torch.linalg.matrix_exp(A * t_check[-1]) @ x0
error = (xs[-1] - exact).norm()
print(f'rk4 vs matrix_exp at t={t_check[-1].item():.1f}: error {error.item():.3e}')
xs_fine = odeint(lambda x: A @ x, x0, t_check, substeps=4)
print(f'with 4 substeps: error {(xs_fine[-1] - exact).norm().item():.3e}')

# the spiral
true_A = torch.tensor([[-0.15, 1.0], [-1.0, -0.15]])
t = torch.linspace(0.0, 8.0, 80)
true_y0 = torch.tensor([[2.0, 0.0]])
with torch.no_grad():
    true_y = odeint(lambda y: y @ true_A, true_y0, t, substeps=2)  # (80, 1, 2)
observed = true_y + 0.01 * torch.randn_like(true_y)
print('observed trajectory', tuple(observed.shape))

batch_time, batch_size = 10, 16


def get_batch():
    starts = torch.tensor(rng.sample(range(len(t) - batch_time), batch_size))
    batch_y0 = observed[starts]  # (batch, 1, 2)
    batch_t = t[:batch_time]
    batch_y = torch.stack([observed[starts + i] for i in range(batch_time)])
    return batch_y0.to(device), batch_t.to(device), batch_y.to(device)


class ODEFunc(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=0.1)
                nn.init.constant_(m.bias, val=0)

    def forward(self, y):
        return self.net(y)


func = ODEFunc().to(device)
optimizer = torch.optim.Adam(func.parameters(), lr=1e-2)

def trajectory_loss():
    func.eval()
    with torch.no_grad():
        pred_y = odeint(func, true_y0.to(device), t.to(device))
        return F.mse_loss(pred_y, observed.to(device)), pred_y


print(f'before training | trajectory loss {trajectory_loss()[0].item():.5f}')
for itr in range(1, 121):
    func.train()
    optimizer.zero_grad()
    batch_y0, batch_t, batch_y = get_batch()
    pred_y = odeint(func, batch_y0, batch_t)
    loss = F.mse_loss(pred_y, batch_y)
    loss.backward()
    optimizer.step()
    if itr % 20 == 0:
        full, pred_y = trajectory_loss()
        print(f'iter {itr:4d} | batch loss {loss.item():.5f} | trajectory loss {full.item():.5f}')

with torch.no_grad():
    print('final state: observed', observed[-1, 0], 'predicted', pred_y[-1, 0])

# the learned dynamics' Jacobian at a point of the spiral against the true one (A^T)
y_probe = torch.tensor([1.0, 0.5], device=device)
jac = torch.autograd.functional.jacobian(func, y_probe)
print(f'Jacobian error at {y_probe.tolist()}: {(jac - true_A.T).abs().max().item():.4f}')
