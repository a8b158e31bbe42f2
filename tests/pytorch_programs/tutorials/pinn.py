"""A physics-informed neural network, written for the xpnn tests: it solves
u''(x) = -pi^2 sin(pi x) on [0, 1] with u(0) = u(1) = 0 (the solution is sin(pi x)) from
the equation alone, with no values of u to fit.

The collocation points are a tensor with ``requires_grad_(True)``; u' and u'' come from
``torch.autograd.grad(..., grad_outputs=torch.ones_like(u), create_graph=True)`` twice, so
the residual's loss backpropagates through the second derivative. The loss adds the
boundary conditions. Glorot-normal weights (``xavier_normal_`` with the tanh gain); Adam
first, then LBFGS with a closure and the strong Wolfe line search, in float64
(``torch.set_default_dtype``), as PINN code usually runs LBFGS. The maximum error against
the exact solution is printed.

    python tests/pytorch_programs/tutorials/pinn.py
"""
import math

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
torch.manual_seed(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


class PINN(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(),
                                 nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


def residual(model, x):
    u = model(x)
    du = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    d2u = torch.autograd.grad(du, x, grad_outputs=torch.ones_like(du), create_graph=True)[0]
    return d2u + math.pi ** 2 * torch.sin(math.pi * x)


x_col = torch.linspace(0, 1, 48, device=device)[1:-1].unsqueeze(1).requires_grad_(True)
x_bc = torch.tensor([[0.0], [1.0]], device=device)
u_bc = torch.zeros(2, 1, device=device)
x_test = torch.linspace(0, 1, 101, device=device).unsqueeze(-1)
u_exact = torch.sin(math.pi * x_test)

def init_glorot(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain('tanh'))
        nn.init.zeros_(m.bias)


model = PINN().to(device)
model.apply(init_glorot)
print(f'dtype {next(model.parameters()).dtype}, collocation points {x_col.shape[0]}')


def compute_loss():
    pde = residual(model, x_col).pow(2).mean()
    bc = nn.functional.mse_loss(model(x_bc), u_bc)
    return pde + 10.0 * bc, pde, bc


def max_error():
    with torch.no_grad():
        return (model(x_test) - u_exact).abs().max().item()


optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(1, 201):
    optimizer.zero_grad()
    loss, pde, bc = compute_loss()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(f'adam step {step} | loss {loss.item():.6f} | pde {pde.item():.6f} | '
              f'bc {bc.item():.2e} | max error {max_error():.4f}')

lbfgs = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=20, history_size=20,
                          tolerance_grad=1e-9, tolerance_change=1e-12,
                          line_search_fn='strong_wolfe')


def closure():
    lbfgs.zero_grad()
    loss, _, _ = compute_loss()
    loss.backward()
    return loss


for step in range(1, 5):
    loss = lbfgs.step(closure)
    print(f'lbfgs step {step} | loss {loss.item():.3e} | max error {max_error():.2e}')

u_mid = model(torch.tensor([[0.5]], device=device))
du_mid, = torch.autograd.grad(u_mid.sum(), next(model.parameters()))
print(f'u(0.5) = {u_mid.item():.4f} (exact 1), first layer gradient norm {du_mid.norm():.3e}, '
      f'lbfgs evaluations {lbfgs.state_dict()["state"][0]["func_evals"]}')
