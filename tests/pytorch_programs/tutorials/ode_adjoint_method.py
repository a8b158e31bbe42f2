"""The adjoint sensitivity method for a neural ODE written by hand (Chen et al., 2018,
"Neural Ordinary Differential Equations"), for the xpnn tests on a made-up 2-D flow.

The vector field is an MLP f(z); z(T) comes from a fixed-step RK4 loop, and the loss is
the mean squared distance of z(T) to targets. Its gradients are computed two ways:

* backpropagation through the solver (``loss.backward()`` through every RK4 stage);
* the adjoint method: a(T) = dL/dz(T) from ``torch.autograd.grad``; then the augmented
  state (z, a, g) is integrated backwards in time by the same RK4 with dz/dt = f(z),
  da/dt = -a^T df/dz, dg/dt = -a^T df/dtheta, the vector-Jacobian products coming from
  ``torch.autograd.grad(f(z), (z, *params), grad_outputs=a)`` on a detached
  ``requires_grad_()`` copy of z under ``torch.enable_grad()``; the parameters' gradients
  are g(0), written into ``p.grad``.

The two agree up to the solver's discretisation (the adjoint solves the continuous
sensitivity equations; backprop differentiates the discrete solver), which shrinks as the
step count grows, and the reconstructed z(0) comes back to the start. The ODE is then
trained by Adam on adjoint gradients alone.

    python tests/pytorch_programs/tutorials/ode_adjoint_method.py
"""
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

# points on a ring, to be carried to the ring turned by 90 degrees and squeezed
angles = rng.uniform(0, 2 * math.pi, size=128)
start = np.stack([np.cos(angles), np.sin(angles)], axis=1)
turned = np.stack([-np.sin(angles) * 0.5, np.cos(angles) * 1.5], axis=1)
z0 = torch.tensor(start, dtype=torch.float32, device=device)
target = torch.tensor(turned, dtype=torch.float32, device=device)


class Field(nn.Module):
    def __init__(self, dim=2, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))

    def forward(self, z):
        return self.net(z)


def rk4(func, z, t0, t1, steps):
    h = (t1 - t0) / steps
    for _ in range(steps):
        k1 = func(z)
        k2 = func(z + h / 2 * k1)
        k3 = func(z + h / 2 * k2)
        k4 = func(z + h * k3)
        z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


def loss_fn(zT):
    return ((zT - target) ** 2).sum(dim=1).mean()


def adjoint_gradients(field, z0, steps):
    """loss and d loss / d params by the adjoint method (no graph through the solver)."""
    params = list(field.parameters())
    with torch.no_grad():
        zT = rk4(field, z0, 0.0, 1.0, steps)
    zT = zT.detach().requires_grad_()
    loss = loss_fn(zT)
    (aT,) = torch.autograd.grad(loss, zT)

    def augmented(state):
        z, a = state[0], state[1]
        with torch.enable_grad():
            z = z.detach().requires_grad_()
            fz = field(z)
            vjp = torch.autograd.grad(fz, (z, *params), grad_outputs=a)
        return [fz.detach(), -vjp[0]] + [-v for v in vjp[1:]]

    state = [zT.detach(), aT] + [torch.zeros_like(p) for p in params]
    h = -1.0 / steps                                 # backwards from t = 1 to t = 0
    for _ in range(steps):
        k1 = augmented(state)
        k2 = augmented([s + h / 2 * k for s, k in zip(state, k1)])
        k3 = augmented([s + h / 2 * k for s, k in zip(state, k2)])
        k4 = augmented([s + h * k for s, k in zip(state, k3)])
        state = [s + h / 6 * (a + 2 * b + 2 * c + d)
                 for s, a, b, c, d in zip(state, k1, k2, k3, k4)]
    return loss, state[0], state[2:]


field = Field().to(device)

# -- the adjoint against backpropagation through the solver ------------------------------
for steps in (4, 16):
    field.zero_grad()
    loss = loss_fn(rk4(field, z0, 0.0, 1.0, steps))
    loss.backward()
    backprop = [p.grad.clone() for p in field.parameters()]
    adj_loss, z0_back, adjoint = adjoint_gradients(field, z0, steps)
    num = sum(((a - b) ** 2).sum() for a, b in zip(adjoint, backprop)).sqrt()
    den = sum((b ** 2).sum() for b in backprop).sqrt()
    rel = (num / den).tolist()
    print(f'{steps:2d} steps | loss {loss.item():.5f} (adjoint pass {adj_loss.item():.5f}) '
          f'| gradient norm {den.item():.5f} | relative difference {rel:.1e} '
          f'| z(0) recovered: {torch.allclose(z0_back, z0, atol=1e-3)}')
    print('   agree within 1e-2:', all(torch.allclose(a, b, rtol=1e-2, atol=1e-4)
                                        for a, b in zip(adjoint, backprop)))

# -- training on adjoint gradients --------------------------------------------------------
optimizer = torch.optim.Adam(field.parameters(), lr=1e-2)
for epoch in range(1, 9):
    for step in range(10):
        optimizer.zero_grad()
        loss, _, grads = adjoint_gradients(field, z0, steps=8)
        for p, g in zip(field.parameters(), grads):
            p.grad = g
        optimizer.step()
    with torch.no_grad():
        end = rk4(field, z0, 0.0, 1.0, 8)
        fit = loss_fn(end).item()
        radius = end.norm(dim=1).mean().item()
    print(f'epoch {epoch} | last step loss {loss.item():.4f} | loss {fit:.4f} '
          f'| mean radius {radius:.3f}')
