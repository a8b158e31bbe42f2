"""Nonlinear least squares two ways, written for the xpnn tests on made-up measurements of a
damped oscillator ``a * exp(-b t) * cos(w t + phi)`` and of Michaelis-Menten kinetics
``v = vmax * s / (km + s)``.

* ``torch.optim.LBFGS(params, lr=1, max_iter=..., history_size=...,
  line_search_fn="strong_wolfe")`` on an ``nn.Module`` holding the parameters, driven by a
  closure that zeroes the gradients, computes the mean squared residual and calls
  ``backward()``;
* a Gauss-Newton / Levenberg-Marquardt loop written by hand: the residuals' Jacobian by
  ``torch.autograd.functional.jacobian``, the step by ``torch.linalg.lstsq`` (Gauss-Newton)
  or by ``torch.linalg.solve`` of the damped normal equations (Levenberg-Marquardt, the
  damping raised or lowered by whether the step helped).

In float64. Parameter standard errors come from ``torch.linalg.inv(J^T J)`` scaled by the
residual variance; the fits of both methods are printed side by side.

    python tests/pytorch_programs/tutorials/lbfgs_curve_fit.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.autograd.functional import jacobian

torch.manual_seed(0)
rng = np.random.default_rng(0)
torch.set_default_dtype(torch.float64)

# -- data ---------------------------------------------------------------------------------
t = torch.linspace(0, 10, 80)
true_osc = torch.tensor([2.0, 0.3, 1.7, 0.4])            # a, b, w, phi


def oscillator(theta, t):
    a, b, w, phi = theta.unbind()
    return a * torch.exp(-b * t) * torch.cos(w * t + phi)


y_osc = oscillator(true_osc, t) + torch.from_numpy(0.05 * rng.standard_normal(80))

s = torch.tensor([0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 20.0, 30.0, 50.0])
true_mm = torch.tensor([3.2, 2.5])                        # vmax, km


def michaelis_menten(theta, s):
    vmax, km = theta.unbind()
    return vmax * s / (km + s)


y_mm = michaelis_menten(true_mm, s) * torch.from_numpy(1 + 0.03 * rng.standard_normal(10))
print(f'data: oscillator {tuple(t.shape)} {y_osc.dtype}, kinetics {tuple(s.shape)}')


# -- LBFGS --------------------------------------------------------------------------------
class Curve(nn.Module):
    def __init__(self, fn, start):
        super().__init__()
        self.fn = fn
        self.theta = nn.Parameter(start.clone())

    def forward(self, x):
        return self.fn(self.theta, x)


def fit_lbfgs(name, fn, start, x, y, steps):
    model = Curve(fn, start)
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=20, history_size=10,
                            line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    for step in range(steps):
        loss = opt.step(closure)
        print(f'{name} lbfgs step {step} | loss {loss.item():.8f} | '
              f'evaluations {opt.state[model.theta]["func_evals"]}')
    return model.theta.detach()


# -- Gauss-Newton and Levenberg-Marquardt by hand ------------------------------------------
def fit_lm(name, fn, start, x, y, steps, damping=1e-3):
    theta = start.clone()

    def residuals(th):
        return fn(th, x) - y

    r = residuals(theta)
    cost = (r ** 2).mean()
    for step in range(steps):
        J = jacobian(residuals, theta)                   # (n, p)
        if damping == 0:
            delta = torch.linalg.lstsq(J, -r[:, None]).solution[:, 0]
        else:
            A = J.T @ J
            A = A + damping * torch.diag(torch.diagonal(A))
            delta = torch.linalg.solve(A, -J.T @ r)
        candidate = theta + delta
        r_new = residuals(candidate)
        new_cost = (r_new ** 2).mean()
        if new_cost < cost:
            theta, r, cost = candidate, r_new, new_cost
            damping = damping / 3 if damping else 0
        else:
            damping = damping * 4 if damping else 0
        print(f'{name} {"gn" if damping == 0 else "lm"} step {step} | loss {cost.item():.8f}')
    return theta


def standard_errors(fn, theta, x, y):
    J = jacobian(lambda th: fn(th, x), theta)
    r = fn(theta, x) - y
    dof = len(y) - len(theta)
    sigma2 = (r @ r) / dof
    cov = sigma2 * torch.linalg.inv(J.T @ J)
    return torch.sqrt(torch.diagonal(cov))


osc_start = torch.tensor([1.5, 0.2, 1.6, 0.2])
fits = {
    'oscillator': (oscillator, osc_start, t, y_osc, true_osc),
    'kinetics': (michaelis_menten, torch.tensor([2.0, 1.0]), s, y_mm, true_mm),
}
for name, (fn, start, x, y, truth) in fits.items():
    th_lbfgs = fit_lbfgs(name, fn, start, x, y, steps=3)
    th_gn = fit_lm(name, fn, start, x, y, steps=6, damping=0)
    th_lm = fit_lm(name, fn, start, x, y, steps=8)
    se = standard_errors(fn, th_lm, x, y)
    for label, th in (('lbfgs', th_lbfgs), ('gauss-newton', th_gn), ('levenberg', th_lm)):
        print(f'{name} {label:12s} | ' + ' '.join(f'{v:.5f}' for v in th.tolist()))
    print(f'{name} truth        | ' + ' '.join(f'{v:.5f}' for v in truth.tolist()))
    print(f'{name} std errors   | ' + ' '.join(f'{v:.5f}' for v in se.tolist()))
    z = ((th_lm - truth) / se).abs().max()
    print(f'{name} agree lbfgs/lm {torch.allclose(th_lbfgs, th_lm, atol=1e-4)} | '
          f'max |z| {z.item():.3f} | within 3 se {bool(z < 3)}')
