"""Forward-mode automatic differentiation with dual tensors, after PyTorch's "Forward-mode
Automatic Differentiation" tutorial, written for the xpnn tests.

Inside ``fwAD.dual_level()``, ``fwAD.make_dual(primal, tangent)`` makes a dual tensor;
whatever is computed from it carries the Jacobian-vector product, read back with
``fwAD.unpack_dual(...)`` (a namedtuple ``primal, tangent``). The program takes a small
function of two dual inputs (checked against the analytic JVP and torch.func.jvp), an
nn.Linear called on a dual input, and the tutorial's directional derivative with respect to
a module's parameters through ``torch.func.functional_call`` with a dict of dual parameters
(checked against torch.func.jvp). Then it trains with a loss built from tangents: a
physics-informed network for u'(x) = -2 x u(x), u(0) = 1 on [0, 2] (solution exp(-x^2)),
where u'(x) at the collocation points is the tangent of the network's output along a dual
input with tangent one; Adam for 8 epochs of 25 steps, in float64, losses and the maximum
error against exp(-x^2) printed.

    python tests/pytorch_programs/tutorials/forward_ad_dual_tensors.py
"""
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn as nn
from torch.func import functional_call

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)


def init_normal_(module):
    """Weights of standard deviation 1 / sqrt(fan_in), biases of 0.1, by torch.randn."""
    with torch.no_grad():
        for p in module.parameters():
            fan_in = p.shape[1] if p.dim() == 2 else 100
            p.copy_(torch.randn(p.shape) / fan_in ** 0.5)
    return module


# -- a function of two dual inputs ------------------------------------------------------------
def fn(x, y):
    return x ** 2 + y.sin() * x


x, y = torch.randn(5), torch.randn(5)
tx, ty = torch.randn(5), torch.randn(5)
with fwAD.dual_level():
    dual_x = fwAD.make_dual(x, tx)
    dual_y = fwAD.make_dual(y, ty)
    out = fn(dual_x, dual_y)
    primal, jvp = fwAD.unpack_dual(out)
    print(f'dual input requires_grad {dual_x.requires_grad}, output grad_fn {out.grad_fn}')
    print(f'the tangent of a dual input is the one given: '
          f'{fwAD.unpack_dual(dual_x).tangent is tx}')
    print(f'tangent of a tensor without dual inputs: {fwAD.unpack_dual(x * 2).tangent}')
analytic = (2 * x + y.sin()) * tx + y.cos() * x * ty
print(f'fn primal sum {primal.sum().item():.6f}, jvp sum {jvp.sum().item():.6f}')
print(f'jvp matches the analytic one: {torch.allclose(jvp, analytic)}')
_, func_jvp = torch.func.jvp(fn, (x, y), (tx, ty))
print(f'jvp matches torch.func.jvp: {torch.allclose(jvp, func_jvp)}')
print(f'after the level the tangent is gone: {fwAD.unpack_dual(out).tangent}')

# -- a module on a dual input ---------------------------------------------------------------
linear = init_normal_(nn.Linear(5, 3))
with fwAD.dual_level():
    out = linear(fwAD.make_dual(x, tx))
    jvp = fwAD.unpack_dual(out).tangent
print(f'linear jvp {jvp.tolist()[0]:.6f} {jvp.tolist()[1]:.6f} {jvp.tolist()[2]:.6f}')
print(f'linear jvp is W tx: {torch.allclose(jvp, linear.weight @ tx)}, requires_grad '
      f'{jvp.requires_grad}')

# -- functional_call with dual parameters ---------------------------------------------------
model = init_normal_(nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)))
inputs = torch.randn(4, 5)
params = {name: p for name, p in model.named_parameters()}
tangents = {name: torch.randn_like(p) for name, p in params.items()}
with fwAD.dual_level():
    dual_params = {name: fwAD.make_dual(p, tangents[name]) for name, p in params.items()}
    out = functional_call(model, dual_params, (inputs,))
    jvp = fwAD.unpack_dual(out).tangent
names = list(params)
_, ref = torch.func.jvp(
    lambda *ps: functional_call(model, dict(zip(names, ps)), (inputs,)),
    tuple(p.detach() for p in params.values()), tuple(tangents[n] for n in names))
print(f'parameter jvp norm {jvp.norm().item():.6f}, matches torch.func.jvp: '
      f'{torch.allclose(jvp, ref)}')


# -- training with a tangent in the loss: u'(x) = -2 x u(x), u(0) = 1 ------------------------
class PINN(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(),
                                 nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


pinn = init_normal_(PINN())
x_col = torch.linspace(0, 2, 64).unsqueeze(1)
x_test = torch.linspace(0, 2, 101).unsqueeze(1)
u_exact = torch.exp(-x_test ** 2)
optimizer = torch.optim.Adam(pinn.parameters(), lr=0.01)


def pinn_loss(points):
    with fwAD.dual_level():
        u, du = fwAD.unpack_dual(pinn(fwAD.make_dual(points, torch.ones_like(points))))
        residual = du + 2 * points * u
        bc = (pinn(torch.zeros(1, 1)) - 1).pow(2).sum()
        return residual.pow(2).mean() + bc


def max_error():
    with torch.no_grad():
        return (pinn(x_test) - u_exact).abs().max().item()


print(f'untrained | test loss {pinn_loss(x_test).item():.6f} | max error {max_error():.4f}')
for epoch in range(1, 9):
    total = 0.0
    for step in range(25):
        optimizer.zero_grad()
        loss = pinn_loss(x_col)
        loss.backward()
        optimizer.step()
        total += loss.item()
    test = pinn_loss(x_test).item()
    print(f'epoch {epoch} | train loss {total / 25:.6f} | test loss {test:.6f} | '
          f'max error {max_error():.4f}')
