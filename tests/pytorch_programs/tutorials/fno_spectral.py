"""A one-dimensional Fourier neural operator (Li et al., 2021, "Fourier Neural Operator for
Parametric Partial Differential Equations"), written small for the xpnn tests after the
paper's reference code, learning one step of the heat equation on made-up data.

Each input is a random smooth periodic function on 64 grid points (a few random Fourier
modes drawn by ``torch.randn``); its target is the heat equation's solution after time
``t``, computed exactly in Fourier space (``torch.fft.rfft``, multiply by
``exp(-k^2 t)``, ``torch.fft.irfft(n=...)``). The operator lifts (u, x) to 24 channels,
applies three Fourier layers, each a ``SpectralConv1d`` (complex weights held as
``nn.Parameter(scale * torch.rand(in, out, modes, dtype=torch.cfloat))``, the kept modes
mixed by ``torch.einsum("bix,iox->box", ...)``, the others zero in a
``torch.zeros(..., dtype=torch.cfloat)`` buffer) plus a pointwise ``Conv1d``, and projects
back to one channel. Adam under StepLR; the relative L2 error on held-out functions is
printed per epoch, with the spectrum of the error and a state_dict round trip at the end.

    python tests/pytorch_programs/tutorials/fno_spectral.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_grid, n_modes_data, t_heat = 64, 8, 0.02


def make_functions(count):
    coef = torch.randn(count, n_modes_data, 2) / torch.arange(1, n_modes_data + 1).unsqueeze(-1)
    spectrum = torch.zeros(count, n_grid // 2 + 1, dtype=torch.cfloat)
    spectrum[:, 1:n_modes_data + 1] = torch.complex(coef[..., 0], coef[..., 1]) * n_grid / 2
    u0 = torch.fft.irfft(spectrum, n=n_grid)
    k = torch.arange(n_grid // 2 + 1, dtype=torch.float32)
    decay = torch.exp(-(k ** 2) * t_heat)
    u1 = torch.fft.irfft(torch.fft.rfft(u0) * decay, n=n_grid)
    return u0, u1


train_u, train_v = make_functions(256)
test_u, test_v = make_functions(128)
print(f'train inputs {tuple(train_u.shape)}, dtype {train_u.dtype}; '
      f'input energy {train_u.pow(2).mean().item():.4f}, target energy '
      f'{train_v.pow(2).mean().item():.4f}')
loader = DataLoader(TensorDataset(train_u, train_v), batch_size=32, shuffle=True)
grid = torch.linspace(0, 1, n_grid + 1)[:-1]


class SpectralConv1d(nn.Module):
    def __init__(self, in_channels, out_channels, modes):
        super().__init__()
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        scale = 1 / (in_channels * out_channels)
        self.weights = nn.Parameter(
            scale * torch.rand(in_channels, out_channels, modes, dtype=torch.cfloat))

    def forward(self, x):
        batch, n = x.shape[0], x.shape[-1]
        x_ft = torch.fft.rfft(x)
        out_ft = torch.zeros(batch, self.out_channels, n // 2 + 1, dtype=torch.cfloat,
                             device=x.device)
        out_ft[:, :, :self.modes] = torch.einsum('bix,iox->box', x_ft[:, :, :self.modes],
                                                 self.weights)
        return torch.fft.irfft(out_ft, n=n)


class FNO1d(nn.Module):
    def __init__(self, modes=12, width=24, layers=3):
        super().__init__()
        self.lift = nn.Linear(2, width)
        self.spectral = nn.ModuleList(SpectralConv1d(width, width, modes) for _ in range(layers))
        self.pointwise = nn.ModuleList(nn.Conv1d(width, width, 1) for _ in range(layers))
        self.project = nn.Sequential(nn.Linear(width, 64), nn.GELU(), nn.Linear(64, 1))

    def forward(self, u):
        x = torch.stack([u, grid.to(u.device).expand_as(u)], dim=-1)
        x = self.lift(x).permute(0, 2, 1)
        for i, (spec, conv) in enumerate(zip(self.spectral, self.pointwise)):
            x = spec(x) + conv(x)
            if i < len(self.spectral) - 1:
                x = F.gelu(x)
        return self.project(x.permute(0, 2, 1)).squeeze(-1)


def relative_l2(pred, target):
    return (torch.linalg.norm(pred - target, dim=-1) / torch.linalg.norm(target, dim=-1)).mean()


model = FNO1d().to(device)
n_complex = sum(p.numel() for p in model.parameters() if p.is_complex())
n_real = sum(p.numel() for p in model.parameters() if not p.is_complex())
print(f'complex parameters {n_complex}, real parameters {n_real}, '
      f'spectral weight dtype {model.spectral[0].weights.dtype}')
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

for epoch in range(1, 7):
    model.train()
    total = 0.0
    for u, v in loader:
        u, v = u.to(device), v.to(device)
        pred = model(u)
        loss = relative_l2(pred, v)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(u)
    scheduler.step()
    model.eval()
    with torch.no_grad():
        test_err = relative_l2(model(test_u.to(device)), test_v.to(device)).item()
    print(f'epoch {epoch} | train rel l2 {total / len(train_u):.4f} | '
          f'test rel l2 {test_err:.4f} | lr {scheduler.get_last_lr()[0]:.5f}')

with torch.no_grad():
    pred = model(test_u.to(device))
    err_spec = torch.fft.rfft(pred - test_v.to(device)).abs().mean(0)
    identity_err = relative_l2(test_u, test_v).item()
print(f'identity baseline rel l2 {identity_err:.4f}')
print('error spectrum, modes 0-5: ' + ' '.join(f'{e:.4f}' for e in err_spec[:6].tolist()))
print(f'spectral weight norm {model.spectral[0].weights.norm().item():.4f}, '
      f'grad dtype {model.spectral[0].weights.grad.dtype}')

restored = FNO1d().to(device)
restored.load_state_dict(model.state_dict())
restored.eval()
with torch.no_grad():
    same = torch.allclose(restored(test_u[:4]), model(test_u[:4]))
print(f'restored model matches: {same}')
