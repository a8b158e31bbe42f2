"""A small variational autoencoder in the style of pytorch/examples vae, written for the
xpnn tests, on 512 random points near a 2-D curve in 16 dimensions.

The encoder (Linear, LayerNorm, SiLU) and decoder (Linear, RMSNorm, SiLU) meet in a
``torch.distributions.Normal`` posterior sampled with ``rsample()``; the loss is the summed
squared error plus ``kl_divergence`` to the standard normal prior; the inputs are scaled by
``torch.linalg.norm``; AdamW with weight decay; the gradient norm is printed too.

    python tests/pytorch_programs/tutorials/vae_normal.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

torch.manual_seed(3)

# points on a curve (t, t^2, sin 3t) seen through a random 3 -> 16 map, plus noise
t = torch.linspace(-1, 1, 512).unsqueeze(1)
curve = torch.cat([t, t ** 2, torch.sin(3 * t)], dim=1)
mixing = torch.randn(3, 16)
data = curve @ mixing + 0.05 * torch.randn(512, 16)
data = data / torch.linalg.norm(data, dim=1, keepdim=True).mean()
print('data:', tuple(data.shape), 'mean norm %.4f' % torch.linalg.norm(data, dim=1).mean())


class VAE(nn.Module):
    def __init__(self, d_in=16, d_hidden=48, d_latent=2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d_in, d_hidden), nn.LayerNorm(d_hidden),
                                     nn.SiLU(), nn.Linear(d_hidden, 2 * d_latent))
        self.decoder = nn.Sequential(nn.Linear(d_latent, d_hidden), nn.RMSNorm(d_hidden),
                                     nn.SiLU(), nn.Linear(d_hidden, d_in))

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return Normal(mu, torch.exp(0.5 * logvar))

    def forward(self, x):
        q = self.encode(x)
        z = q.rsample()
        return self.decoder(z), q


def loss_function(recon_x, x, q):
    recon = F.mse_loss(recon_x, x, reduction='sum')
    prior = Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))
    kld = kl_divergence(q, prior).sum()
    return recon + 0.1 * kld, recon, kld


model = VAE()
print(model)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=64,
                                     shuffle=True)

for epoch in range(1, 9):
    model.train()
    train_loss = 0
    for batch_idx, (x,) in enumerate(loader):
        optimizer.zero_grad()
        recon_batch, q = model(x)
        loss, recon, kld = loss_function(recon_batch, x, q)
        loss.backward()
        grad_norm = torch.linalg.norm(
            torch.stack([torch.linalg.norm(p.grad) for p in model.parameters()]))
        train_loss += loss.item()
        optimizer.step()
    print('====> Epoch: {} Average loss: {:.4f} (recon {:.4f}, kl {:.4f}, grad norm {:.3f})'
          .format(epoch, train_loss / len(loader.dataset), recon.item() / len(x),
                  kld.item() / len(x), grad_norm.item()))

model.eval()
with torch.no_grad():
    q = model.encode(data[:4])
    print('posterior scale:', q.scale.shape, q.scale.dtype)
    print('log_prob of the means: %.4f' % q.log_prob(q.mean).sum().item())
    sample = model.decoder(torch.randn(4, 2))
    print('samples:', tuple(sample.shape))
