"""Hessian-free optimisation (Newton-CG), written for the xpnn tests: L2-regularised logistic
regression, then a small tanh MLP, on made-up 2-class data, in float64.

Hessian-vector products come from double backward: ``torch.autograd.grad`` of the loss with
``create_graph=True``, dotted with a vector, differentiated again. They are checked against
``torch.autograd.functional.hvp``, against the rows of ``torch.autograd.functional.hessian``
and against ``torch.autograd.functional.jacobian`` of the gradient (with and without
``vectorize=True``). Each Newton step solves ``(H + damping I) p = -g`` by conjugate
gradient written by hand, then backtracks along ``p`` (an Armijo line search).

    python tests/pytorch_programs/tutorials/hessian_free_newton.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.functional import hessian, hvp, jacobian

torch.manual_seed(19)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

n, d = 240, 5
true_w = torch.tensor([2.0, -1.0, 0.5, 0.0, 1.5])
x = torch.randn(n, d)
y = ((x @ true_w + torch.sin(3 * x[:, 0]) + 0.3 * torch.randn(n)) > 0).float()
x, y = x.double().to(device), y.double().to(device)
x_train, y_train, x_test, y_test = x[:180], y[:180], x[180:], y[180:]


def flatten(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def hvp_double_backward(loss_fn, params, v):
    """H v by differentiating (grad . v): one backward with create_graph, then another."""
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    g = flatten(grads)
    hv = torch.autograd.grad(g @ v, params)
    return flatten(hv)


def conjugate_gradient(matvec, b, iters=20, tol=1e-10):
    xk = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs = r @ r
    for i in range(iters):
        Ap = matvec(p)
        curvature = p @ Ap
        if curvature <= 0:  # negative curvature: stop (steepest descent if at the start)
            return (b.clone() if i == 0 else xk), i
        alpha = rs / curvature
        xk = xk + alpha * p
        r = r - alpha * Ap
        rs_new = r @ r
        if rs_new.sqrt() < tol:
            return xk, i + 1
        p = r + (rs_new / rs) * p
        rs = rs_new
    return xk, iters


def set_flat(params, theta):
    with torch.no_grad():
        offset = 0
        for p in params:
            p.copy_(theta[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def newton_cg(model, loss_of, name, steps, damping):
    params = [p for p in model.parameters()]
    for step in range(1, steps + 1):
        loss = loss_of(model, x_train, y_train)
        g = flatten(torch.autograd.grad(loss, params)).detach()

        def matvec(v):
            return hvp_double_backward(lambda: loss_of(model, x_train, y_train), params,
                                       v) + damping * v

        direction, cg_iters = conjugate_gradient(matvec, -g)
        theta = flatten([p.detach() for p in params]).clone()
        t, slope = 1.0, (g @ direction).item()
        with torch.no_grad():
            while True:
                set_flat(params, theta + t * direction)
                new_loss = loss_of(model, x_train, y_train)
                if new_loss.item() <= loss.item() + 1e-4 * t * slope or t < 1e-3:
                    break
                t *= 0.5
        with torch.no_grad():
            test_loss = loss_of(model, x_test, y_test)
            acc = ((model(x_test) > 0).double() == y_test).double().mean()
        print(f'{name} step {step} | loss {new_loss.item():.6f} | grad norm '
              f'{g.norm().item():.3e} | cg iters {cg_iters} | step size {t:.3f} | '
              f'test loss {test_loss.item():.4f} | test acc {acc.item():.3f}')


# ---------- logistic regression ----------
class LogReg(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.Linear(d, 1)

    def forward(self, x):
        return self.linear(x).squeeze(-1)


l2 = 1e-2


def logreg_loss(model, x, y):
    return (F.binary_cross_entropy_with_logits(model(x), y)
            + 0.5 * l2 * model.linear.weight.pow(2).sum())


logreg = LogReg(d).to(device, torch.float64)
with torch.no_grad():
    print(f'initial test loss {logreg_loss(logreg, x_test, y_test).item():.6f}')
params = list(logreg.parameters())
sizes = [p.numel() for p in params]


def pure_loss(theta):
    w, b = theta[:d].view(1, d), theta[d:]
    logits = F.linear(x_train, w, b).squeeze(-1)
    return F.binary_cross_entropy_with_logits(logits, y_train) + 0.5 * l2 * w.pow(2).sum()


theta0 = flatten([p.detach() for p in params]).clone()
v = torch.randn(theta0.numel(), dtype=torch.float64, device=device)
hv_ours = hvp_double_backward(lambda: logreg_loss(logreg, x_train, y_train), params, v)
loss_value, hv_func = hvp(pure_loss, theta0, v)
H = hessian(pure_loss, theta0)
J = jacobian(lambda t: torch.autograd.grad(pure_loss(t), t, create_graph=True)[0], theta0)
J_vec = jacobian(lambda t: torch.autograd.grad(pure_loss(t), t, create_graph=True)[0], theta0,
                 vectorize=True)
H_vec = hessian(pure_loss, theta0, vectorize=True)
print(f'initial loss {loss_value.item():.6f}, hessian shape {tuple(H.shape)}')
print(f'double backward hvp matches functional.hvp: '
      f'{torch.allclose(hv_ours, hv_func, atol=1e-12)} | matches H @ v: '
      f'{torch.allclose(hv_ours, H @ v, atol=1e-12)}')
print(f'jacobian of grad matches hessian: {torch.allclose(J, H, atol=1e-12)} | vectorized: '
      f'{torch.allclose(J_vec, H, atol=1e-12)} | vectorized hessian: '
      f'{torch.allclose(H_vec, H, atol=1e-12)} | symmetric: {torch.allclose(H, H.T)}')
print(f'hvp norm {hv_ours.norm().item():.6f}, trace {torch.trace(H).item():.6f}')

newton_cg(logreg, logreg_loss, 'logreg', steps=5, damping=1e-4)
theta = flatten([p.detach() for p in params])
H = hessian(pure_loss, theta)
eig = torch.linalg.eigvalsh(H)
print(f'hessian eigenvalues at the optimum: min {eig[0].item():.4f}, '
      f'max {eig[-1].item():.4f}')


# ---------- a small MLP ----------
class MLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x))).squeeze(-1)


def mlp_loss(model, x, y):
    reg = sum(p.pow(2).sum() for name, p in model.named_parameters() if 'weight' in name)
    return F.binary_cross_entropy_with_logits(model(x), y) + 0.5 * l2 * reg


mlp = MLP(d, 8).to(device, torch.float64)
with torch.no_grad():  # a fixed-scale init from the global generator
    for p in mlp.parameters():
        p.copy_(0.5 * torch.randn(p.shape, dtype=torch.float64, device=device))
mlp_params = list(mlp.parameters())
v = torch.randn(sum(p.numel() for p in mlp_params), dtype=torch.float64, device=device)
hv1 = hvp_double_backward(lambda: mlp_loss(mlp, x_train, y_train), mlp_params, v)
hv2 = hvp_double_backward(lambda: mlp_loss(mlp, x_train, y_train), mlp_params, 2 * v)
print(f'mlp: {v.numel()} parameters | hvp linear in v: {torch.allclose(hv2, 2 * hv1)} | '
      f'v.Hv {(v @ hv1).item():.6f}')
newton_cg(mlp, mlp_loss, 'mlp', steps=8, damping=1e-1)
