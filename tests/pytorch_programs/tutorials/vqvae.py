"""A VQ-VAE (van den Oord et al., 2017) on tiny made-up images, written for the xpnn tests:
8x8 images of bars and blobs, a conv encoder, a codebook ``nn.Embedding``, each latent
vector's nearest code found by ``torch.cdist`` (training) and by expanded squared distances
and ``argmin`` (checked equal), the straight-through estimator ``z + (q - z).detach()``,
codebook and commitment losses, then the codebook's usage by ``torch.bincount`` and
``torch.unique`` and its perplexity.

    python tests/pytorch_programs/tutorials/vqvae.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)

n_images = 512
coords = torch.arange(8, dtype=torch.float32)
images = torch.zeros(n_images, 1, 8, 8)
for i in range(n_images):
    p, k = (i * 5 // 4) % 8, i % 4
    if k == 0:
        images[i, 0, :, p] = 1.0
    elif k == 1:
        images[i, 0, p, :] = 1.0
    else:
        c = 2.0 + (p % 4) if k == 2 else 5.0 - (p % 4)
        d2 = (coords[:, None] - c) ** 2 + (coords[None, :] - (7.0 - c)) ** 2
        images[i, 0] = torch.exp(-d2 / 3.0)
images = (images + 0.05 * torch.randn_like(images)).clamp(0, 1)
train_loader = DataLoader(TensorDataset(images[:448]), batch_size=32, shuffle=True)
test_images = images[448:]


class VectorQuantizer(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, beta=0.25):
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)
        self.embedding.weight.data.uniform_(-1 / num_embeddings, 1 / num_embeddings)
        self.beta = beta

    def forward(self, z):
        z = z.permute(0, 2, 3, 1).contiguous()
        flat = z.view(-1, z.shape[-1])
        indices = torch.cdist(flat, self.embedding.weight).argmin(dim=1)
        encodings = F.one_hot(indices, self.embedding.num_embeddings).type(flat.dtype)
        q = torch.matmul(encodings, self.embedding.weight).view(z.shape)
        codebook_loss = F.mse_loss(q, z.detach())
        commitment_loss = F.mse_loss(z, q.detach())
        loss = codebook_loss + self.beta * commitment_loss
        q = z + (q - z).detach()
        return q.permute(0, 3, 1, 2).contiguous(), loss, indices

    @torch.no_grad()
    def restart_dead_codes(self, z, counts):
        """Move the unused codes onto the latents farthest from their nearest code."""
        dead = (counts == 0).nonzero().squeeze(1)
        if dead.numel() == 0:
            return 0
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        far = torch.cdist(flat, self.embedding.weight).min(dim=1).values
        order = torch.argsort(far, descending=True)[:dead.numel()]
        self.embedding.weight.data[dead[:order.numel()]] = flat[order]
        return dead.numel()


class VQVAE(nn.Module):
    def __init__(self, hidden=32, embedding_dim=8, num_embeddings=32):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, hidden, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, embedding_dim, 1))
        self.vq = VectorQuantizer(num_embeddings, embedding_dim)
        self.decoder = nn.Sequential(
            nn.Conv2d(embedding_dim, hidden, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(hidden, hidden, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, 1, 3, padding=1))

    def forward(self, x):
        q, vq_loss, indices = self.vq(self.encoder(x))
        return torch.sigmoid(self.decoder(q)), vq_loss, indices


model = VQVAE()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
num_codes = model.vq.embedding.num_embeddings

for epoch in range(1, 9):
    model.train()
    total_recon, total_vq = 0.0, 0.0
    for (xb,) in train_loader:
        recon, vq_loss, _ = model(xb)
        recon_loss = F.mse_loss(recon, xb)
        loss = recon_loss + vq_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_recon += recon_loss.item()
        total_vq += vq_loss.item()
    model.eval()
    with torch.no_grad():
        if epoch in (2, 4):
            z_train = model.encoder(images[:448])
            _, _, train_indices = model.vq(z_train)
            restarted = model.vq.restart_dead_codes(
                z_train, torch.bincount(train_indices, minlength=num_codes))
            print(f'restarted {restarted} dead codes')
        recon, _, indices = model(test_images)
        test_loss = F.mse_loss(recon, test_images).item()
        counts = torch.bincount(indices, minlength=num_codes)
        probs = counts.float() / counts.sum()
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
        used = torch.unique(indices).numel()
    print(f'epoch {epoch} | recon {total_recon / len(train_loader):.4f} | vq '
          f'{total_vq / len(train_loader):.4f} | test recon {test_loss:.4f} | codes used '
          f'{used}/{num_codes} | perplexity {perplexity.item():.2f}')

with torch.no_grad():
    z = model.encoder(test_images).permute(0, 2, 3, 1).reshape(-1, 8)
    codebook = model.vq.embedding.weight
    d = (z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.t()
         + codebook.pow(2).sum(1)[None, :])
    by_expansion = d.argmin(dim=1)
    by_cdist = torch.cdist(z, codebook).argmin(dim=1)
    agree = (by_expansion == by_cdist).float().mean().item()
    values, counts = torch.unique(by_cdist, return_counts=True)
    top = counts.argsort(descending=True)[:3]
print(f'expanded distances and cdist agree on {agree:.3f} of the latents')
print(f'most used codes: {values[top].tolist()} ({counts[top].tolist()} latents)')
