"""A small spectral denoiser, then spectrogram inversion by Griffin-Lim, written for the
xpnn tests after torchaudio's GriffinLim transform, on made-up tones and chirps.

(a) A Conv1d net over the frequency axis of each frame predicts a mask for a noisy magnitude
(``torch.stft(..., window=torch.hann_window(n_fft), return_complex=True)``, ``.abs()``); the
masked magnitude is put back with the noisy phase (``.angle()``) by ``torch.polar`` and the
loss is the mean squared error between ``torch.view_as_real`` of that complex spectrogram and
of the clean one. Adam; the signal-to-noise ratio of the ``torch.istft`` re-synthesis on
held-out signals, before and after.

(b) Keeping a clean signal's true phase and magnitude, ``torch.polar`` and ``torch.istft``
give the signal back. Dropping the phase, Griffin-Lim recovers one from the magnitude alone
by alternating projections, plainly and with the "fast" momentum of Perraudin et al. (2013);
the spectral convergence ||S - |STFT(x)||| / ||S|| is printed along the way for both.

    python tests/pytorch_programs/tutorials/griffin_lim.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(6)
rng = np.random.default_rng(6)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

sr, length, n_fft, hop = 4000, 2048, 128, 32
window = torch.hann_window(n_fft, device=device)


def stft(x):
    return torch.stft(x, n_fft, hop_length=hop, window=window, return_complex=True)


def istft(spec):
    return torch.istft(spec, n_fft, hop_length=hop, window=window, length=length)


def make_signals(count):
    t = np.arange(length) / sr
    out = []
    for _ in range(count):
        f0, f1 = rng.uniform(150, 600), rng.uniform(600, 1500)
        chirp = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * t[-1])))
        tone = 0.5 * np.sin(2 * np.pi * rng.uniform(200, 1800) * t + rng.uniform(0, 6.28))
        envelope = np.minimum(1.0, 8 * t) * np.exp(-rng.uniform(0.2, 1.5) * t)
        out.append((chirp + tone) * envelope)
    return torch.tensor(np.stack(out), dtype=torch.float32, device=device)


def spectral_convergence(target_mag, x):
    return (torch.linalg.norm(target_mag - stft(x).abs()) / torch.linalg.norm(target_mag))


def griffin_lim(mag, n_iter, momentum):
    angles = torch.polar(torch.ones_like(mag), torch.zeros_like(mag))
    previous = torch.zeros_like(angles)
    history = {}
    for i in range(1, n_iter + 1):
        signal = istft(mag * angles)
        rebuilt = stft(signal)
        angles = rebuilt - previous * (momentum / (1 + momentum))
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
        if i in (4, 16, 48):
            history[i] = spectral_convergence(mag, istft(mag * angles)).item()
    return istft(mag * angles), history


# -- (a) a magnitude denoiser ---------------------------------------------------------------


class MaskNet(nn.Module):
    def __init__(self, channels=8):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(1, channels, 5, padding=2), nn.ReLU(),
                                 nn.Conv1d(channels, channels, 5, padding=2), nn.ReLU(),
                                 nn.Conv1d(channels, 1, 5, padding=2))

    def forward(self, noisy_spec):
        mag = noisy_spec.abs()                                  # (B, F, T)
        b, f, t = mag.shape
        frames = torch.log1p(mag).permute(0, 2, 1).reshape(b * t, 1, f)
        mask = torch.sigmoid(self.net(frames)).reshape(b, t, f).permute(0, 2, 1)
        return torch.polar(mask * mag, noisy_spec.angle())


def add_noise(clean, level):
    return clean + level * torch.tensor(rng.standard_normal(tuple(clean.shape)),
                                        dtype=torch.float32, device=device)


def snr_db(clean, estimate):
    return 10 * torch.log10(clean.pow(2).sum() / (clean - estimate).pow(2).sum())


model = MaskNet().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
test_clean = make_signals(8)
test_noisy = add_noise(test_clean, 0.3)
print(f'noisy test snr {snr_db(test_clean, test_noisy).item():.3f} dB')

for epoch in range(1, 7):
    model.train()
    total = 0.0
    for _ in range(8):
        clean = make_signals(8)
        noisy_spec, clean_spec = stft(add_noise(clean, 0.3)), stft(clean)
        optimizer.zero_grad()
        denoised = model(noisy_spec)
        loss = F.mse_loss(torch.view_as_real(denoised), torch.view_as_real(clean_spec))
        loss.backward()
        optimizer.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        test_spec = model(stft(test_noisy))
        test_loss = F.mse_loss(torch.view_as_real(test_spec),
                               torch.view_as_real(stft(test_clean))).item()
        snr = snr_db(test_clean, istft(test_spec)).item()
    print(f'epoch {epoch} | train loss {total / 8:.5f} | test loss {test_loss:.5f} | '
          f'test snr {snr:.3f} dB')

# -- (b) inversion --------------------------------------------------------------------------
signals = make_signals(4)
spec = stft(signals)
print(f'stft {tuple(spec.shape)} {spec.dtype}')
mag, phase = spec.abs(), spec.angle()
back = istft(torch.polar(mag, phase))
print(f'true-phase round trip within 1e-5: {torch.allclose(back, signals, atol=1e-5)}')
for momentum in (0.0, 0.99):
    estimate, history = griffin_lim(mag, 48, momentum)
    figures = ', '.join(f'{k} iters {v:.4f}' for k, v in history.items())
    print(f'griffin-lim momentum {momentum}: spectral convergence {figures}')
