"""The empirical neural tangent kernel and the linearized network, written for the xpnn
tests after PyTorch's "Neural Tangent Kernels" torch.func tutorial: a small tanh MLP
regressing a noisy sine in 1-D, in float64 (``torch.set_default_dtype``).

The network is a plain ``nn.Module`` called functionally by ``torch.func.functional_call``
on a dict of its (detached) parameters. The kernel ``K(x, x') = J(x) J(x')^T`` comes two
ways: by contracting per-input Jacobians (``vmap`` over inputs of ``jacrev``), and by
NTK-vector products (``vjp`` of the second set of inputs, then ``jvp`` of the first, the
basis vectors under ``vmap``). Kernel regression with the NTK at initialisation solves
``torch.linalg.solve(K + ridge I, y - f0)``; the network itself is trained by SGD, and so
is its linearization around the initial parameters, built by ``torch.func.linearize``
(``f0 + J (theta - theta0)``), whose test predictions come from ``torch.func.jvp``.

    python tests/pytorch_programs/tutorials/ntk_linearization.py
"""
import torch
import torch.nn as nn
from torch.func import functional_call, jacrev, jvp, linearize, vjp, vmap

torch.manual_seed(3)
# the kernel is ill-conditioned (eigenvalues from ~1e-4 to ~1e2): everything in float64
torch.set_default_dtype(torch.float64)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

x_train = torch.linspace(-2.5, 2.5, 16, device=device).unsqueeze(-1)
y_train = torch.sin(2 * x_train).squeeze(-1) + 0.1 * torch.randn(16, device=device)
x_test = torch.linspace(-2.4, 2.4, 25, device=device).unsqueeze(-1)
y_test = torch.sin(2 * x_test).squeeze(-1)


class MLP(nn.Module):
    def __init__(self, width=48):
        super().__init__()
        self.fc1 = nn.Linear(1, width)
        self.fc2 = nn.Linear(width, width)
        self.fc3 = nn.Linear(width, 1)

    def forward(self, x):
        return self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(x))))).squeeze(-1)


model = MLP().to(device)
loss_fn = nn.MSELoss()
with torch.no_grad():
    print(f'initial train loss {loss_fn(model(x_train), y_train).item():.6f}')

params = {k: v.detach().clone() for k, v in model.named_parameters()}
print({k: tuple(v.shape) for k, v in params.items()})


def f_single(params, x):
    return functional_call(model, params, (x.unsqueeze(0),)).squeeze(0)


def f_batch(params, x):
    return functional_call(model, params, (x,))


def ntk_by_jacobians(params, x1, x2):
    jac1 = vmap(jacrev(f_single), (None, 0))(params, x1)
    jac2 = vmap(jacrev(f_single), (None, 0))(params, x2)
    blocks = [j1.flatten(1) @ j2.flatten(1).T for j1, j2 in zip(jac1.values(), jac2.values())]
    return torch.stack(blocks).sum(0)


def ntk_by_products(params, x1, x2):
    def f1(p):
        return f_batch(p, x1)

    def f2(p):
        return f_batch(p, x2)

    _, vjp_fn = vjp(f2, params)

    def column(e):
        (cotangent,) = vjp_fn(e)
        return jvp(f1, (params,), (cotangent,))[1]

    basis = torch.eye(x2.shape[0], dtype=x2.dtype, device=x2.device)
    return vmap(column)(basis).T


K_train = ntk_by_jacobians(params, x_train, x_train)
K_test = ntk_by_jacobians(params, x_test, x_train)
K_products = ntk_by_products(params, x_test, x_train)
print(f'ntk shapes {tuple(K_train.shape)} {tuple(K_test.shape)} | symmetric '
      f'{torch.allclose(K_train, K_train.T, atol=1e-5)} | products match jacobians '
      f'{torch.allclose(K_products, K_test, rtol=1e-4, atol=1e-5)}')
eig = torch.linalg.eigvalsh(K_train)
print(f'ntk trace {torch.trace(K_train).item():.4f} | largest eigenvalue '
      f'{eig[-1].item():.4f} | diag mean {K_train.diagonal().mean().item():.4f}')

with torch.no_grad():
    f0_train, f0_test = f_batch(params, x_train), f_batch(params, x_test)
ridge = 1e-2
alpha = torch.linalg.solve(K_train + ridge * torch.eye(16, device=device), y_train - f0_train)
kernel_pred = f0_test + K_test @ alpha
print(f'kernel regression | train residual '
      f'{(f0_train + K_train @ alpha - y_train).pow(2).mean().item():.6f} | test loss '
      f'{loss_fn(kernel_pred, y_test).item():.6f}')

# the linearized model: f0 + J (theta - theta0), by torch.func.linearize
f0_out, jvp_fn = linearize(lambda p: f_batch(p, x_train), params)
print(f'linearize output matches the network: {torch.allclose(f0_out, f0_train)}')
delta = {k: torch.zeros_like(v, requires_grad=True) for k, v in params.items()}
lin_optimizer = torch.optim.SGD(delta.values(), lr=0.05)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

for epoch in range(1, 7):
    for step in range(25):
        optimizer.zero_grad()
        loss = loss_fn(model(x_train), y_train)
        loss.backward()
        optimizer.step()

        lin_optimizer.zero_grad()
        lin_loss = loss_fn(f0_out + jvp_fn(delta), y_train)
        lin_loss.backward()
        lin_optimizer.step()
    with torch.no_grad():
        test_loss = loss_fn(model(x_test), y_test)
        _, lin_delta = jvp(lambda p: f_batch(p, x_test), (params,),
                           ({k: v.detach() for k, v in delta.items()},))
        lin_test = loss_fn(f0_test + lin_delta, y_test)
        gap = (model(x_test) - f0_test - lin_delta).abs().max()
    print(f'epoch {epoch} | net train loss {loss.item():.6f} | test loss '
          f'{test_loss.item():.6f} | linearized train loss {lin_loss.item():.6f} | test '
          f'loss {lin_test.item():.6f} | max gap {gap.item():.4f}')

trained = {k: v.detach() for k, v in model.named_parameters()}
K_after = ntk_by_jacobians(trained, x_train, x_train)
change = (K_after - K_train).norm() / K_train.norm()
moved = torch.sqrt(sum((trained[k] - params[k]).pow(2).sum() for k in params))
print(f'relative ntk change {change.item():.4f} | parameter distance {moved.item():.4f}')
