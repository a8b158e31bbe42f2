"""The MDN-RNN of World Models (Ha and Schmidhuber, 2018, "Recurrent World Models Facilitate
Policy Evolution"; after Graves, 2013, and Bishop, 1994), written for the xpnn tests on
made-up latent trajectories.

An environment's latents are 4-dimensional and move under 2-dimensional actions: a linear
drift plus the action, with a regime switch (the motion turns one way or the other by the
sign of the first coordinate) and noise, so the next latent is multimodal. An LSTM reads
the (latent, action) sequence and a linear head gives, per step, a mixture of 5 diagonal
Gaussians over the next latent: mixture log-weights by ``F.log_softmax``, means, and
standard deviations by exp of clamped log-sigmas. The negative log-likelihood takes each
component's ``torch.distributions.Normal(mu, sigma).log_prob`` summed over the latent dims
and ``torch.logsumexp`` over the components. Adam with gradient clipping; the train and
test NLL are printed per epoch, beside a single Gaussian's baseline NLL.

Then the model dreams under ``torch.no_grad``: from a real start it rolls out 12 steps of
its own predictions, the component chosen by ``torch.multinomial`` of the temperature-scaled
mixture weights and the latent drawn as mu + sigma * sqrt(tau) * ``torch.randn``.

    python tests/pytorch_programs/tutorials/world_model_mdn_rnn.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(17)
rng = np.random.default_rng(17)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

LATENT, ACTION, MIXTURES, STEPS = 4, 2, 5, 20


def make_data(count):
    z = np.zeros((count, STEPS + 1, LATENT))
    actions = rng.uniform(-1, 1, (count, STEPS, ACTION))
    z[:, 0] = rng.standard_normal((count, LATENT))
    turn = np.array([[0.0, -0.6, 0, 0], [0.6, 0, 0, 0], [0, 0, 0.9, 0], [0, 0, 0, 0.9]])
    for t in range(STEPS):
        prev = z[:, t]
        side = np.where(rng.random(count) < 0.5, 1.0, -1.0)[:, None]
        z[:, t + 1] = 0.8 * prev + side * (prev @ turn.T) * 0.5
        z[:, t + 1, :ACTION] += 0.5 * actions[:, t]
        z[:, t + 1, 2] += side[:, 0] * 0.8
        z[:, t + 1] += 0.1 * rng.standard_normal((count, LATENT))
    as_t = lambda v: torch.tensor(v, dtype=torch.float32)
    return as_t(z[:, :-1]), as_t(actions), as_t(z[:, 1:])


class MDNRNN(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.lstm = nn.LSTM(LATENT + ACTION, hidden, batch_first=True)
        self.head = nn.Linear(hidden, MIXTURES * (1 + 2 * LATENT))

    def forward(self, z, a, state=None):
        out, state = self.lstm(torch.cat([z, a], dim=-1), state)
        params = self.head(out)
        logits = params[..., :MIXTURES]
        mu, log_sigma = params[..., MIXTURES:].chunk(2, dim=-1)
        shape = params.shape[:-1] + (MIXTURES, LATENT)
        sigma = torch.exp(log_sigma.clamp(-5.0, 3.0)).view(shape)
        return F.log_softmax(logits, dim=-1), logits, mu.reshape(shape), sigma, state


def mdn_nll(log_pi, mu, sigma, target):
    log_prob = Normal(mu, sigma).log_prob(target.unsqueeze(-2)).sum(dim=-1)
    return -torch.logsumexp(log_pi + log_prob, dim=-1).mean()


train = make_data(256)
test = make_data(64)
z_t, a_t, next_t = (v.to(device) for v in test)
gauss = Normal(train[2].mean(dim=(0, 1)), train[2].std(dim=(0, 1)))
print(f'single gaussian baseline nll {-gauss.log_prob(test[2]).sum(-1).mean().item():.4f}')

model = MDNRNN().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(TensorDataset(*train), batch_size=32, shuffle=True)
for epoch in range(1, 9):
    total = 0.0
    for z, a, target in loader:
        log_pi, _, mu, sigma, _ = model(z.to(device), a.to(device))
        loss = mdn_nll(log_pi, mu, sigma, target.to(device))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        log_pi, _, mu, sigma, _ = model(z_t, a_t)
        test_nll = mdn_nll(log_pi, mu, sigma, next_t).item()
        weight = log_pi.exp().max(dim=-1).values.mean().item()
    print(f'epoch {epoch} | train nll {total / len(loader):.4f} | test nll {test_nll:.4f} | '
          f'top mixture weight {weight:.3f}')

# a dream: the model's own samples fed back, at temperature tau
tau = 1.15
with torch.no_grad():
    z = z_t[:4, :1]
    state, dream = None, []
    for t in range(12):
        _, logits, mu, sigma, state = model(z, a_t[:4, t:t + 1], state)
        probs = torch.softmax(logits[:, -1] / tau, dim=-1)
        k = torch.multinomial(probs, 1)                              # (4, 1)
        index = k.unsqueeze(-1).expand(-1, 1, LATENT)
        mu_k = mu[:, -1].gather(1, index).squeeze(1)
        sigma_k = sigma[:, -1].gather(1, index).squeeze(1)
        z = (mu_k + sigma_k * tau ** 0.5 * torch.randn(4, LATENT, device=device)).unsqueeze(1)
        dream.append(z)
    dream = torch.cat(dream, dim=1)
print(f'dream {tuple(dream.shape)} | mean |z| {dream.abs().mean().item():.3f} | real mean |z| '
      f'{next_t[:4, :12].abs().mean().item():.3f}')
