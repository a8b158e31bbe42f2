"""Differentiable physics, written for the xpnn tests: a damped pendulum and a damped
two-mass spring chain integrated by a semi-implicit (symplectic) Euler loop in float64, and
differentiated through the loop.

(a) Shooting: the pendulum's initial angle and angular velocity (an ``nn.Module`` holding
one ``nn.Parameter`` of two entries, whose forward is the simulation) are optimised by ``torch.optim.LBFGS`` (strong Wolfe line search) so that the
pendulum is at a target angle, at rest-ish, at the final time. The loss's gradient
(``torch.autograd.grad``), ``torch.autograd.functional.jacobian`` of the final state,
``torch.autograd.functional.hvp``, and ``torch.func.jvp`` / ``vjp`` / ``jacfwd`` are each
checked against central finite differences.

(b) Stability: the Jacobian of the spring chain's one-step map at rest, by
``torch.autograd.functional.jacobian``, and of its continuous dynamics; their eigenvalues by
``torch.linalg.eigvals`` (complex): the continuous ones have negative real parts (``.real``)
and the step map's a spectral radius below one (``.abs()``), for a small step, and above one
for a step past the explicit method's limit.

    python tests/pytorch_programs/tutorials/differentiable_physics.py
"""
import math

import torch
from torch.autograd.functional import hvp, jacobian
from torch.func import jacfwd, jvp, vjp

torch.manual_seed(0)
dtype = torch.float64
g_over_l, damping, dt, n_steps = 9.81, 0.3, 0.02, 120
target = torch.tensor([1.2, 0.0], dtype=dtype)


def simulate(state0):
    """Semi-implicit Euler for theta'' = -(g / L) sin(theta) - c theta'."""
    theta, omega = state0[0], state0[1]
    for _ in range(n_steps):
        omega = omega + dt * (-g_over_l * torch.sin(theta) - damping * omega)
        theta = theta + dt * omega
    return torch.stack([theta, omega])


def loss_fn(state0):
    final = simulate(state0)
    return (final[0] - target[0]) ** 2 + 0.1 * (final[1] - target[1]) ** 2


def central_difference(f, x, direction, eps=1e-6):
    return (f(x + eps * direction) - f(x - eps * direction)) / (2 * eps)


class Shooter(torch.nn.Module):
    """The initial state as a parameter; the forward pass is the simulation."""
    def __init__(self):
        super().__init__()
        self.state0 = torch.nn.Parameter(torch.tensor([0.3, 0.5], dtype=dtype))

    def forward(self):
        return simulate(self.state0)


shooter = Shooter()
final = shooter()
print(f'initial loss {loss_fn(shooter.state0).item():.6f} | final state '
      f'{[round(v, 4) for v in final.tolist()]}')
state0 = shooter.state0

# derivatives through the loop against finite differences
x = state0.detach().clone()
e = [torch.eye(2, dtype=dtype)[i] for i in range(2)]
grad = torch.autograd.grad(loss_fn(state0), state0)[0]
fd_grad = torch.stack([central_difference(loss_fn, x, d) for d in e])
print(f'grad {[round(v, 6) for v in grad.tolist()]} | finite differences agree: '
      f'{torch.allclose(grad, fd_grad, rtol=1e-6, atol=1e-8)}')
jac = jacobian(simulate, x)
fd_jac = torch.stack([central_difference(simulate, x, d) for d in e], dim=1)
print(f'jacobian {tuple(jac.shape)} det {torch.linalg.det(jac).item():.6f} | finite '
      f'differences agree: {torch.allclose(jac, fd_jac, rtol=1e-6, atol=1e-8)}')
v = torch.tensor([1.0, -2.0], dtype=dtype)
value, hv = hvp(loss_fn, x, v)
fd_hv = central_difference(lambda s: torch.autograd.functional.jacobian(loss_fn, s), x, v,
                           eps=1e-5)
print(f'hvp {[round(t, 5) for t in hv.tolist()]} at loss {value.item():.6f} | finite '
      f'differences agree: {torch.allclose(hv, fd_hv, rtol=1e-5, atol=1e-7)}')
out, tangent = jvp(simulate, (x,), (v,))
print(f'jvp {[round(t, 5) for t in tangent.tolist()]} | equals J v: '
      f'{torch.allclose(tangent, jac @ v)} | finite differences agree: '
      f'{torch.allclose(tangent, central_difference(simulate, x, v), rtol=1e-6, atol=1e-8)}')
out, pullback = vjp(simulate, x)
(cotangent,) = pullback(torch.tensor([1.0, 0.5], dtype=dtype))
print(f'vjp {[round(t, 5) for t in cotangent.tolist()]} | equals u J: '
      f'{torch.allclose(cotangent, torch.tensor([1.0, 0.5], dtype=dtype) @ jac)}')
print(f'jacfwd equals jacobian: {torch.allclose(jacfwd(simulate)(x), jac)}')

# (a) shooting by LBFGS
optimizer = torch.optim.LBFGS(shooter.parameters(), lr=1, max_iter=4,
                              line_search_fn='strong_wolfe')
evaluations = 0


def closure():
    global evaluations
    evaluations += 1
    optimizer.zero_grad()
    final = shooter()
    loss = (final[0] - target[0]) ** 2 + 0.1 * (final[1] - target[1]) ** 2
    loss.backward()
    return loss


for step in range(1, 5):
    loss = optimizer.step(closure)
    print(f'lbfgs step {step} | loss {loss.item():.3e} | after {loss_fn(state0).item():.3e} '
          f'| evaluations {evaluations}')
final = shooter().detach()
print(f'initial state {[round(t, 4) for t in state0.tolist()]} -> final '
      f'{[round(t, 4) for t in final.tolist()]}, target {target.tolist()}')


# (b) stability of a damped two-mass spring chain, linearised at rest
k1, k2, c, m = 4.0, 2.5, 0.4, 1.0


def dynamics(state):
    x1, x2, v1, v2 = state.unbind()
    a1 = (-k1 * x1 + k2 * (x2 - x1) - c * v1) / m
    a2 = (-k2 * (x2 - x1) - c * v2) / m
    return torch.stack([v1, v2, a1, a2])


def step_map(state, h):
    x, v = state[:2], state[2:]
    v = v + h * dynamics(state)[2:]
    x = x + h * v
    return torch.cat([x, v])


rest = torch.zeros(4, dtype=dtype)
a = jacobian(dynamics, rest)
eig_continuous = torch.linalg.eigvals(a)
print(f'continuous eigenvalues {eig_continuous.dtype}: max real part '
      f'{eig_continuous.real.max().item():.4f}, stable '
      f'{bool((eig_continuous.real < 0).all())}, frequencies '
      f'{sorted(round(w, 4) for w in eig_continuous.imag.abs().tolist())}')
for h in (0.05, 1.5):
    step_jacobian = jacobian(lambda s: step_map(s, h), rest)
    radius = torch.linalg.eigvals(step_jacobian).abs().max()
    print(f'step {h}: spectral radius {radius.item():.4f}, stable {bool(radius < 1)}')
omega_max = eig_continuous.abs().max()
print(f'explicit step limit 2 / |lambda|max = {(2 / omega_max).item():.4f}, '
      f'{math.isclose((2 / omega_max).item(), 2 / omega_max.item())}')
