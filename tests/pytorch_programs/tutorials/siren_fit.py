"""A SIREN fitting an image (Sitzmann et al., 2020, "Implicit Neural Representations with
Periodic Activation Functions"), written for the xpnn tests after the paper's image-fitting
experiment, on a made-up 32x32 image with a closed-form gradient and Laplacian.

The network maps a pixel's (y, x) in [-1, 1]^2, from ``torch.meshgrid(torch.linspace(...),
torch.linspace(...), indexing="ij")``, to its intensity through sine layers sin(omega_0 (W x
+ b)) with omega_0 = 30 (10 in the first layer, the reference code's first_omega_0, as
the image is small), initialised by the paper's bounds under ``torch.no_grad()``: the
first layer's weights ``uniform_(-1 / fan_in, 1 / fan_in)``, the others'
``nn.init.uniform_(w, -sqrt(6 / fan_in) / omega_0, sqrt(6 / fan_in) / omega_0)``, and a
linear output layer. Adam fits the pixels by MSE; the PSNR (peak-to-peak 2) is printed.

The fitted function's gradient and Laplacian with respect to its input come from
``torch.autograd.grad(..., create_graph=True)`` (the Laplacian as the sum of second
derivatives, one ``autograd.grad`` of each gradient component); both are checked against
central finite differences of the network in float64 (a ``copy.deepcopy(...).double()``),
and compared with the image's closed-form gradient and Laplacian. The pre-activation
statistics at initialisation (the paper's arcsine-distributed activations) are printed.

    python tests/pytorch_programs/tutorials/siren_fit.py
"""
import copy
import math

import torch
import torch.nn as nn

torch.manual_seed(8)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

H = W = 32


def grid(h, w, dtype=torch.float32):
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, dtype=dtype),
                            torch.linspace(-1, 1, w, dtype=dtype), indexing='ij')
    return torch.stack([ys, xs], dim=-1).reshape(-1, 2)


def image_fn(c):
    """The image, its gradient and its Laplacian in closed form at coordinates (N, 2)."""
    y, x = c[:, 0], c[:, 1]
    g = torch.exp(-((y - 0.3) ** 2 + (x + 0.2) ** 2) / 0.1)
    f = torch.sin(3 * x) * torch.cos(2 * y) + 0.6 * g
    fy = -2 * torch.sin(3 * x) * torch.sin(2 * y) - 0.6 * g * 2 * (y - 0.3) / 0.1
    fx = 3 * torch.cos(3 * x) * torch.cos(2 * y) - 0.6 * g * 2 * (x + 0.2) / 0.1
    r2 = ((y - 0.3) ** 2 + (x + 0.2) ** 2)
    lap = -13 * torch.sin(3 * x) * torch.cos(2 * y) + 0.6 * g * (4 * r2 / 0.01 - 4 / 0.1)
    return f, torch.stack([fy, fx], dim=-1), lap


class SineLayer(nn.Module):
    def __init__(self, d_in, d_out, first=False, omega_0=30.0):
        super().__init__()
        self.omega_0 = omega_0
        self.linear = nn.Linear(d_in, d_out)
        with torch.no_grad():
            if first:
                self.linear.weight.uniform_(-1 / d_in, 1 / d_in)
            else:
                bound = math.sqrt(6 / d_in) / omega_0
                nn.init.uniform_(self.linear.weight, -bound, bound)

    def forward(self, x):
        return torch.sin(self.omega_0 * self.linear(x))


class Siren(nn.Module):
    def __init__(self, hidden=48, layers=3, first_omega_0=10.0):
        super().__init__()
        blocks = [SineLayer(2, hidden, first=True, omega_0=first_omega_0)]
        blocks += [SineLayer(hidden, hidden) for _ in range(layers - 1)]
        self.net = nn.Sequential(*blocks)
        self.out = nn.Linear(hidden, 1)
        with torch.no_grad():
            bound = math.sqrt(6 / hidden) / 30.0
            self.out.weight.uniform_(-bound, bound)

    def forward(self, coords):
        return self.out(self.net(coords)).squeeze(-1)


def derivatives(model, coords):
    coords = coords.clone().requires_grad_(True)
    out = model(coords)
    grad = torch.autograd.grad(out, coords, grad_outputs=torch.ones_like(out),
                               create_graph=True)[0]
    lap = torch.zeros_like(out)
    for i in range(coords.size(1)):
        second = torch.autograd.grad(grad[:, i], coords, torch.ones_like(grad[:, i]),
                                     create_graph=True)[0]
        lap = lap + second[:, i]
    return out, grad, lap


def finite_differences(model, coords, h=1e-4):
    eye = torch.eye(2, dtype=coords.dtype, device=coords.device)
    grad, lap = [], 0
    centre = model(coords)
    for i in range(2):
        up, down = model(coords + h * eye[i]), model(coords - h * eye[i])
        grad.append((up - down) / (2 * h))
        lap = lap + (up - 2 * centre + down) / h ** 2
    return torch.stack(grad, dim=-1), lap


coords = grid(H, W).to(device)
target, target_grad, target_lap = image_fn(coords.double())
target = target.float()


def psnr(mse):
    return 10 * math.log10(4.0 / mse)


model = Siren().to(device)
with torch.no_grad():
    loss = ((model(coords) - target) ** 2).mean()
    pre = model.net[1].omega_0 * model.net[1].linear(model.net[0](coords))
print(f'untrained | mse {loss.item():.6f} | psnr {psnr(loss.item()):.2f} dB')
print(f'first-layer weight range {model.net[0].linear.weight.abs().max().item():.4f}, '
      f'hidden pre-activation std {pre.std().item():.4f}, activation std '
      f'{torch.sin(pre).std().item():.4f} (arcsine: {1 / math.sqrt(2):.4f})')
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
for step in range(1, 201):
    loss = ((model(coords) - target) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        print(f'step {step} | mse {loss.item():.6f} | psnr {psnr(loss.item()):.2f} dB')

# derivatives: autograd against finite differences of the float64 copy, then the image's
model64 = copy.deepcopy(model).double()
probe = grid(9, 9, torch.float64).to(device) * 0.9
_, grad64, lap64 = derivatives(model64, probe)
with torch.no_grad():
    fd_grad, fd_lap = finite_differences(model64, probe)
# relative errors at the finite differences' own accuracy (about 1e-7): printed, not read
grad_err = (grad64 - fd_grad).norm() / fd_grad.norm()
lap_err = (lap64 - fd_lap).norm() / fd_lap.norm()
print(f'autograd vs finite differences: gradient {grad_err:.2e}, laplacian {lap_err:.2e}, '
      f'allclose {torch.allclose(grad64, fd_grad, rtol=1e-4, atol=1e-4)}')
out, grad, lap = derivatives(model, coords)
grad_rel = ((grad.double() - target_grad).norm() / target_grad.norm()).item()
lap_rel = ((lap.double() - target_lap).norm() / target_lap.norm()).item()
print(f'fitted vs closed form: image psnr {psnr(((out - target) ** 2).mean().item()):.2f} dB, '
      f'gradient rel error {grad_rel:.4f}, laplacian rel error {lap_rel:.4f}')
print(f'second derivatives require grad: {lap.requires_grad}, grad_fn '
      f'{type(lap.grad_fn).__name__ != "NoneType"}')
