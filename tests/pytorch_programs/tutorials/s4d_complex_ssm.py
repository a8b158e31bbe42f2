"""A diagonal state-space model, S4D (Gu, Gupta, Goel and Re, 2022, "On the Parameterization
and Initialization of Diagonal State Space Models"), written for the xpnn tests after the
standalone s4d.py of the state-spaces repository, on a made-up sequence regression.

The inputs are random walks with occasional jumps (made with NumPy); the target at each step
mixes the input 12 steps back and an exponential moving average of the input, so the model
must remember across time. Each S4D layer holds, per channel, a diagonal complex state matrix
A stored as real parameters (the log of -Re A and Im A, initialised by S4D-Lin: -1/2 + i pi n)
and combined by ``torch.complex``, a complex output vector C stored as its real and imaginary
parts, a log step size and a skip term D. The convolution kernel is the discretised
(zero-order hold) Vandermonde product K = 2 Re(sum_n C_n (exp(dt A_n) - 1) / A_n
exp(dt A_n l)) computed by complex ``torch.exp`` and ``torch.einsum``, and the layer applies it
causally by ``torch.fft.rfft(n=2L)`` / ``irfft(n=2L)[..., :L]``, adds D u and a GELU, then a
pointwise Linear. Gradients flow through the complex arithmetic into the real parameters.
Two residual pre-LayerNorm layers between a Linear encoder and decoder; AdamW with the SSM
parameters in a group of their own (lower learning rate, no weight decay); mean squared
error per epoch and the learned step sizes.

    python tests/pytorch_programs/tutorials/s4d_complex_ssm.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

L, H, N = 64, 16, 16


def make_data(count):
    steps = 0.3 * rng.standard_normal((count, L)) + 2.0 * (rng.random((count, L)) < 0.05)
    u = np.cumsum(steps, axis=1)
    u = u - u.mean(axis=1, keepdims=True)
    delayed = np.concatenate([np.zeros((count, 12)), u[:, :-12]], axis=1)
    ema = np.zeros_like(u)
    for t in range(1, L):
        ema[:, t] = 0.9 * ema[:, t - 1] + 0.1 * u[:, t]
    y = 0.5 * delayed + ema
    return (torch.tensor(u[..., None], dtype=torch.float32),
            torch.tensor(y[..., None], dtype=torch.float32))


class S4DKernel(nn.Module):
    def __init__(self, h, n, dt_min=0.001, dt_max=0.1):
        super().__init__()
        log_dt = torch.rand(h) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.C_re = nn.Parameter(torch.randn(h, n // 2) * 0.5 ** 0.5)
        self.C_im = nn.Parameter(torch.randn(h, n // 2) * 0.5 ** 0.5)
        self.log_A_real = nn.Parameter(torch.log(0.5 * torch.ones(h, n // 2)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(n // 2).float().repeat(h, 1))

    def forward(self, length):
        dt = torch.exp(self.log_dt)  # (H)
        C = torch.complex(self.C_re, self.C_im)  # (H, N/2)
        A = torch.complex(-torch.exp(self.log_A_real), self.A_imag)  # (H, N/2)
        dtA = A * dt.unsqueeze(-1)
        vandermonde = torch.exp(dtA.unsqueeze(-1) * torch.arange(length, device=A.device))
        C = C * (torch.exp(dtA) - 1.0) / A
        return 2 * torch.einsum('hn,hnl->hl', C, vandermonde).real  # (H, L)


class S4D(nn.Module):
    def __init__(self, h, n):
        super().__init__()
        self.kernel = S4DKernel(h, n)
        self.D = nn.Parameter(torch.randn(h))
        self.output = nn.Linear(h, h)

    def forward(self, u):  # (B, H, L)
        length = u.shape[-1]
        k = self.kernel(length)
        k_f = torch.fft.rfft(k, n=2 * length)
        u_f = torch.fft.rfft(u, n=2 * length)
        y = torch.fft.irfft(u_f * k_f, n=2 * length)[..., :length]
        y = y + u * self.D.unsqueeze(-1)
        y = F.gelu(y)
        return self.output(y.transpose(-1, -2)).transpose(-1, -2)


class S4DModel(nn.Module):
    def __init__(self, layers=2):
        super().__init__()
        self.encoder = nn.Linear(1, H)
        self.norms = nn.ModuleList([nn.LayerNorm(H) for _ in range(layers)])
        self.layers = nn.ModuleList([S4D(H, N) for _ in range(layers)])
        self.decoder = nn.Linear(H, 1)

    def forward(self, x):  # (B, L, 1)
        x = self.encoder(x)
        for norm, layer in zip(self.norms, self.layers):
            z = norm(x).transpose(-1, -2)
            x = x + layer(z).transpose(-1, -2)
        return self.decoder(x)


train_x, train_y = make_data(256)
test_x, test_y = make_data(128)
print(f'target variance {test_y.var().item():.4f}')

model = S4DModel().to(device)
ssm = [p for n, p in model.named_parameters() if 'kernel' in n]
rest = [p for n, p in model.named_parameters() if 'kernel' not in n]
optimizer = torch.optim.AdamW([{'params': rest, 'weight_decay': 0.01},
                               {'params': ssm, 'lr': 1e-3, 'weight_decay': 0.0}], lr=4e-3)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


def evaluate():
    with torch.no_grad():
        return F.mse_loss(model(test_x.to(device)), test_y.to(device)).item()


print(f'untrained | test mse {evaluate():.4f}')
kernel = model.layers[0].kernel
with torch.no_grad():
    K = kernel(L)
    print(f'kernel {tuple(K.shape)} {K.dtype}, C {torch.complex(kernel.C_re, kernel.C_im).dtype}')
    # the FFT convolution against a direct causal sum for one channel
    u = test_x[:2, :, 0]
    direct = torch.stack([(K[0, :t + 1].flip(0) * u[:, :t + 1]).sum(-1) for t in range(L)], -1)
    via_fft = torch.fft.irfft(torch.fft.rfft(u, n=2 * L) * torch.fft.rfft(K[0], n=2 * L),
                              n=2 * L)[..., :L]
    print(f'fft convolution matches the direct sum: {torch.allclose(via_fft, direct, atol=1e-4)}')

for epoch in range(1, 9):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    dt = torch.exp(kernel.log_dt).mean().item()
    print(f'epoch {epoch} | train mse {total / len(loader):.4f} | test mse {evaluate():.4f} | '
          f'mean dt {dt:.4f} | grad norm of C_im {kernel.C_im.grad.norm().item():.4f}')
