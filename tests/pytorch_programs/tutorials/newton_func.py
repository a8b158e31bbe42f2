"""Second-order training with torch.func, written for the xpnn tests: L2-regularised logistic
regression on 400 made-up points in 6 dimensions, fitted by damped Newton steps in
float64.

The model is an ordinary ``nn.Linear`` module; the loss is a pure function of a dict of its
parameters through ``torch.func.functional_call``. ``torch.func.grad`` gives the gradient
(as a dict, then over a flat parameter vector), ``torch.func.hessian`` the Hessian, checked
against ``jacrev(jacrev(...))`` and ``jacfwd(jacrev(...))`` and against
``torch.autograd.functional.hessian`` / ``jacobian``; the Newton direction comes from
``torch.linalg.solve`` of the damped Hessian. ``torch.func.vmap`` with ``in_dims`` gives the
per-example losses and per-example gradients, whose mean is the full gradient. A plain
gradient-descent run of the same length is printed for comparison.

    python tests/pytorch_programs/tutorials/newton_func.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, vmap

torch.manual_seed(5)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

n, d, l2 = 400, 6, 1e-2
true_w = torch.tensor([1.5, -2.0, 0.5, 0.0, 1.0, -0.5])
x = torch.randn(n, d)
y = ((x @ true_w + 0.3 + 0.5 * torch.randn(n)) > 0).float()
x, y = x.double().to(device), y.double().to(device)
x_train, y_train, x_test, y_test = x[:300], y[:300], x[300:], y[300:]


class LogisticRegression(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.Linear(d, 1)

    def forward(self, x):
        return self.linear(x).squeeze(-1)


model = LogisticRegression(d).to(device, torch.float64)
with torch.no_grad():
    start = F.binary_cross_entropy_with_logits(model(x_train), y_train)
print(f'initial train loss {start.item():.4f}')

names = [name for name, _ in model.named_parameters()]
shapes = [p.shape for p in model.parameters()]
sizes = [p.numel() for p in model.parameters()]


def loss_fn(params, x, y):
    logits = functional_call(model, params, (x,))
    return (F.binary_cross_entropy_with_logits(logits, y)
            + 0.5 * l2 * params['linear.weight'].pow(2).sum())


def unflatten(theta):
    return {name: part.view(shape)
            for name, part, shape in zip(names, theta.split(sizes), shapes)}


def flat_loss(theta, x, y):
    return loss_fn(unflatten(theta), x, y)


def example_loss(params, x, y):
    logits = functional_call(model, params, (x.unsqueeze(0),))
    return F.binary_cross_entropy_with_logits(logits, y.unsqueeze(0))


params = {k: v.detach().clone() for k, v in model.named_parameters()}
grads = grad(loss_fn)(params, x_train, y_train)
print({k: tuple(v.shape) for k, v in grads.items()})

theta = torch.cat([p.detach().flatten() for p in model.parameters()])
H = hessian(flat_loss)(theta, x_train, y_train)
H_rr = jacrev(jacrev(flat_loss))(theta, x_train, y_train)
H_fr = jacfwd(jacrev(flat_loss))(theta, x_train, y_train)
H_auto = torch.autograd.functional.hessian(lambda t: flat_loss(t, x_train, y_train), theta)
g_flat = grad(flat_loss)(theta, x_train, y_train)
J_auto = torch.autograd.functional.jacobian(
    lambda t: grad(flat_loss)(t, x_train, y_train), theta)
print(f'hessian shape {tuple(H.shape)}, symmetric {torch.allclose(H, H.T, atol=1e-10)}')
print(f'jacrev(jacrev) matches hessian: {torch.allclose(H_rr, H, atol=1e-10)} | '
      f'jacfwd(jacrev): {torch.allclose(H_fr, H, atol=1e-10)} | '
      f'autograd.functional.hessian: {torch.allclose(H_auto, H, atol=1e-10)} | '
      f'jacobian of grad: {torch.allclose(J_auto, H, atol=1e-10)}')
flat_grads = torch.cat([g.flatten() for g in grads.values()])
print(f'dict grad matches flat grad: {torch.allclose(flat_grads, g_flat, atol=1e-10)}')

per_example_loss = vmap(example_loss, in_dims=(None, 0, 0))(params, x_train, y_train)
per_example_grads = vmap(grad(example_loss), in_dims=(None, 0, 0))(params, x_train, y_train)
print(f'per-example losses {tuple(per_example_loss.shape)}, '
      f'mean {per_example_loss.mean().item():.4f}')
mean_grad = torch.cat([per_example_grads[k].mean(0).flatten() for k in names])
mean_grad[:d] += l2 * theta[:d]
print(f'mean per-example gradient matches full gradient: '
      f'{torch.allclose(mean_grad, g_flat, atol=1e-10)}')
print(f'per-example weight gradients {tuple(per_example_grads["linear.weight"].shape)}')


def accuracy(theta, x, y):
    with torch.no_grad():
        logits = functional_call(model, unflatten(theta), (x,))
        return ((logits > 0).float() == y).float().mean().item()


damping = 1e-3
eye = torch.eye(theta.numel(), dtype=theta.dtype, device=device)
newton = theta.clone()
for step in range(1, 7):
    g = grad(flat_loss)(newton, x_train, y_train)
    H = hessian(flat_loss)(newton, x_train, y_train)
    direction = torch.linalg.solve(H + damping * eye, g)
    newton = newton - direction
    loss = flat_loss(newton, x_train, y_train)
    print(f'newton step {step} | loss {loss.item():.6f} | grad norm {g.norm().item():.3e} '
          f'| test accuracy {accuracy(newton, x_test, y_test):.3f}')

gd = theta.clone()
for step in range(1, 7):
    gd = gd - 1.0 * grad(flat_loss)(gd, x_train, y_train)
print(f'gradient descent after 6 steps | loss {flat_loss(gd, x_train, y_train).item():.6f}')

with torch.no_grad():
    for p, value in zip(model.parameters(), newton.split(sizes)):
        p.copy_(value.view(p.shape))
print(f'fitted weight {model.linear.weight.detach().squeeze(0)}')
eigenvalues = torch.linalg.eigvalsh(hessian(flat_loss)(newton, x_train, y_train))
print(f'smallest hessian eigenvalue at the optimum {eigenvalues[0].item():.4f}, '
      f'condition number {(eigenvalues[-1] / eigenvalues[0]).item():.1f}')
