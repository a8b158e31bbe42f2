"""A VAE with a discrete latent (Jang, Gu and Poole, 2017; Maddison, Mnih and Teh, 2017),
written small for the xpnn tests on 640 made-up 8x8 binary images: each image is the union of
three parts (a row band, a column band, a corner block) chosen from four kinds each, so three
categorical codes of four values describe it.

The encoder gives logits for 3 categorical variables of 4 categories; the decoder reads
``F.gumbel_softmax(logits, tau, hard=True)`` (one-hot forward, relaxed backward) with tau
annealed per epoch. The KL against a uniform prior is ``kl_divergence`` of two
``OneHotCategorical`` distributions, and a relaxed sample of
``RelaxedOneHotCategorical`` is scored against the uniform relaxed prior by ``log_prob``
differences (a single-sample KL estimate, printed). The reconstruction term is
``F.binary_cross_entropy_with_logits(reduction="sum")``; the ELBO per image and the code
usage histogram (``torch.bincount`` of the argmax) are printed per epoch.

    python tests/pytorch_programs/tutorials/gumbel_vae.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import OneHotCategorical, RelaxedOneHotCategorical, kl_divergence
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
N_LATENT, N_CAT = 3, 4


def make_images(n):
    codes = torch.randint(0, N_CAT, (n, N_LATENT))
    images = torch.zeros(n, 8, 8)
    for i in range(n):
        r, c, k = codes[i].tolist()
        images[i, 2 * r:2 * r + 2, :] = 1.0
        images[i, :, 2 * c:2 * c + 2] = 1.0
        y, x = divmod(k, 2)
        images[i, 4 * y:4 * y + 3, 4 * x:4 * x + 3] = 1.0
    flip = torch.rand(n, 8, 8) < 0.03
    images = torch.where(flip, 1.0 - images, images)
    return images.view(n, 64), codes


train_x, _ = make_images(512)
test_x, test_codes = make_images(128)
loader = DataLoader(TensorDataset(train_x), batch_size=32, shuffle=True)


class GumbelVAE(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(),
                                     nn.Linear(hidden, N_LATENT * N_CAT))
        self.decoder = nn.Sequential(nn.Linear(N_LATENT * N_CAT, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 64))

    def forward(self, x, tau, hard=True):
        logits = self.encoder(x).view(-1, N_LATENT, N_CAT)
        z = F.gumbel_softmax(logits, tau=tau, hard=hard, dim=-1)
        return self.decoder(z.view(-1, N_LATENT * N_CAT)), logits


def elbo_terms(model, x, tau):
    recon_logits, logits = model(x, tau)
    recon = F.binary_cross_entropy_with_logits(recon_logits, x, reduction='sum')
    posterior = OneHotCategorical(logits=logits)
    prior = OneHotCategorical(probs=torch.full_like(logits, 1.0 / N_CAT))
    kl = kl_divergence(posterior, prior).sum()
    return recon, kl, logits


model = GumbelVAE().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
tau0, tau_min, anneal = 1.0, 0.3, 0.25
epochs = 10

for epoch in range(epochs):
    tau = max(tau_min, tau0 * math.exp(-anneal * epoch))
    model.train()
    total_recon = total_kl = 0.0
    for (x,) in loader:
        x = x.to(device)
        recon, kl, _ = elbo_terms(model, x, tau)
        loss = (recon + kl) / x.size(0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_recon += recon.item()
        total_kl += kl.item()
    n = len(loader.dataset)
    model.eval()
    with torch.no_grad():
        x = test_x.to(device)
        recon, kl, logits = elbo_terms(model, x, tau)
        codes = logits.argmax(dim=-1)
        usage = torch.bincount(codes.flatten(), minlength=N_CAT)
    print(f'epoch {epoch + 1:2d} | tau {tau:.3f} | train elbo {-(total_recon + total_kl) / n:.3f} '
          f'| train kl {total_kl / n:.3f} | test elbo {-(recon + kl).item() / x.size(0):.3f} '
          f'| code usage {usage.tolist()}')

with torch.no_grad():
    _, logits = model(test_x.to(device), tau_min)
    relaxed_q = RelaxedOneHotCategorical(torch.tensor(1.0), logits=logits)
    relaxed_p = RelaxedOneHotCategorical(torch.tensor(1.0),
                                         probs=torch.full_like(logits, 1.0 / N_CAT))
    z = relaxed_q.rsample()
    kl_mc = (relaxed_q.log_prob(z) - relaxed_p.log_prob(z)).sum(-1).mean()
    exact_kl = kl_divergence(OneHotCategorical(logits=logits),
                             OneHotCategorical(probs=torch.full_like(logits, 1.0 / N_CAT)))
    print(f'relaxed sample shape {tuple(z.shape)}, rows sum to one: '
          f'{torch.allclose(z.sum(-1), torch.ones(z.shape[:-1]), atol=1e-5)}')
    print(f'one-sample relaxed kl {kl_mc.item():.3f} | exact categorical kl per image '
          f'{exact_kl.sum(-1).mean().item():.3f} (max {N_LATENT * math.log(N_CAT):.3f})')
    hard = F.gumbel_softmax(logits, tau=tau_min, hard=True)
    print(f'hard sample is one-hot: {bool(((hard == 0) | (hard == 1)).all())}, '
          f'ones per variable {hard.sum(-1).unique().tolist()}')
    # how well each latent variable tracks one generating factor: the best match per pair
    codes = logits.argmax(dim=-1)
    agreement = torch.zeros(N_LATENT, N_LATENT)
    for i in range(N_LATENT):
        for j in range(N_LATENT):
            joint = torch.bincount(codes[:, i] * N_CAT + test_codes[:, j],
                                   minlength=N_CAT * N_CAT).view(N_CAT, N_CAT)
            agreement[i, j] = joint.max(dim=1).values.sum().float() / len(test_codes)
    print(f'best latent/factor purity {agreement.max(dim=1).values.mean().item():.3f}')
