"""Contrastive predictive coding (van den Oord et al., 2018, "Representation Learning with
Contrastive Predictive Coding"), written for the xpnn tests on made-up 1-D signals.

Each signal is a sum of two sines whose frequencies drift slowly, plus noise. A strided
``nn.Conv1d`` encoder turns the raw signal into one latent z_t per 4 samples; a ``nn.GRU``
summarises z_1..z_t into a context c_t; one ``nn.Linear`` per prediction step k = 1..3 maps
c_t to a guess of z_{t+k}. The InfoNCE loss scores the true z_{t+k} against negatives drawn
from other places and other sequences of the batch by ``torch.randint``, the scores made by
``torch.bmm`` of the prediction against the (positive + negatives) stack; the positive sits
at index 0, so the loss is ``F.cross_entropy`` against zeros, and the accuracy is how often
the positive scores highest (``argmax``). Adam with ``clip_grad_norm_``.

A linear probe on the frozen contexts (the signal's first frequency, by least squares via
``torch.linalg.lstsq``) shows what the representation holds.

    python tests/pytorch_programs/tutorials/cpc_infonce.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(11)
rng = np.random.default_rng(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

length, n_steps, n_negatives = 128, 3, 15


def make_signals(count):
    t = np.arange(length)[None, :]
    f1 = rng.uniform(0.05, 0.25, (count, 1)) * (1 + 0.002 * t)
    f2 = rng.uniform(0.3, 0.45, (count, 1))
    phase = rng.uniform(0, 2 * np.pi, (count, 2))
    x = np.sin(f1 * t + phase[:, :1]) + 0.5 * np.sin(f2 * t + phase[:, 1:])
    x = x + 0.1 * rng.normal(size=x.shape)
    return (torch.from_numpy(x[:, None].astype(np.float32)),
            torch.from_numpy(f1[:, 0].astype(np.float32)))


class CPC(nn.Module):
    def __init__(self, z_dim=32, c_dim=32):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(1, z_dim, kernel_size=4, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(z_dim, z_dim, kernel_size=4, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(z_dim, z_dim, kernel_size=3, padding=1))
        self.gru = nn.GRU(z_dim, c_dim, batch_first=True)
        self.predictors = nn.ModuleList([nn.Linear(c_dim, z_dim) for _ in range(n_steps)])

    def forward(self, x):
        z = self.encoder(x).transpose(1, 2)          # (B, T, z)
        c, _ = self.gru(z)                           # (B, T, c)
        return z, c


def info_nce(z, c, model):
    batch, steps, dim = z.shape
    losses, correct, total = [], 0, 0
    for k, predictor in enumerate(model.predictors, start=1):
        pred = predictor(c[:, :-k])                              # (B, T-k, z): guesses of z_{t+k}
        positive = z[:, k:]                                      # (B, T-k, z)
        n = batch * (steps - k)
        flat_z = z.reshape(-1, dim)
        negative_idx = torch.randint(0, batch * steps, (n, n_negatives), device=z.device)
        candidates = torch.cat([positive.reshape(n, 1, dim), flat_z[negative_idx]], dim=1)
        scores = torch.bmm(candidates, pred.reshape(n, dim, 1)).squeeze(-1)   # (n, 1 + neg)
        target = torch.zeros(n, dtype=torch.long, device=z.device)
        losses.append(F.cross_entropy(scores, target))
        correct += (scores.argmax(dim=1) == 0).sum().item()
        total += n
    return torch.stack(losses).mean(), correct / total


x_train, f_train = make_signals(256)
x_test, f_test = make_signals(128)
model = CPC().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
z, c = model(x_test[:2].to(device))
print(f'latents {tuple(z.shape)}, contexts {tuple(c.shape)}; chance accuracy '
      f'{1 / (1 + n_negatives):.4f}')


def probe():
    """Least-squares fit of the first frequency from the last context, on the test half."""
    with torch.no_grad():
        _, c_train = model(x_train.to(device))
        _, c_test = model(x_test.to(device))
    design = lambda c: torch.cat([c[:, -1], torch.ones(len(c), 1, device=device)], dim=1)
    coef = torch.linalg.lstsq(design(c_train), f_train.to(device)[:, None]).solution
    pred = design(c_test) @ coef
    return F.mse_loss(pred.squeeze(1), f_test.to(device)).item() / f_test.var().item()


print(f'untrained probe: relative mse {probe():.4f}')
for epoch in range(1, 7):
    total, accuracy = 0.0, 0.0
    perm = rng.permutation(len(x_train))
    for i in range(0, len(x_train), 32):
        xb = x_train[perm[i:i + 32]].to(device)
        z, c = model(xb)
        loss, acc = info_nce(z, c, model)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
        accuracy += acc
    with torch.no_grad():
        z, c = model(x_test.to(device))
        test_loss, test_acc = info_nce(z, c, model)
    print(f'epoch {epoch}: train infonce {total / 8:.4f} | acc {accuracy / 8:.3f} '
          f'| test infonce {test_loss.item():.4f} | acc {test_acc:.3f}')

print(f'trained probe: relative mse {probe():.4f}')
