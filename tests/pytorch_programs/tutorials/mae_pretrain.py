"""A masked autoencoder (He et al., 2021, "Masked Autoencoders Are Scalable Vision
Learners"), written for the xpnn tests after the paper's reference recipe, on made-up 16x16
images of four texture classes (stripes both ways, diagonals, checkers at random phases).

Images are cut into 4x4 patches by ``F.unfold(kernel_size=4, stride=4)`` and put back by
``F.fold`` (checked to be exact, and against the reference code's patchify by
``torch.einsum('nchpwq->nhwpqc', ...)`` between ``reshape(shape=...)`` calls). Per image,
75% of the patches are masked at random: the noise ``torch.rand(N, L)`` is ranked by
``torch.argsort``, the first quarter of the order kept, the kept patch embeddings taken by
``torch.gather`` with the index ``expand``-ed over the width, and the binary mask brought
back to patch order by the inverse permutation (``argsort`` of the order); the test loss is
taken under a fixed noise passed in. The encoder (a ``nn.TransformerEncoder`` with
``norm_first=True``) sees the kept patches alone; the decoder appends a learned mask token,
un-shuffles by ``gather`` with the inverse order, adds its own position embeddings and
predicts every patch's pixels. The loss is the MSE on the masked patches only, against
per-patch normalized targets ((p - mean) / sqrt(var + 1e-6) with ``var(unbiased=False)``).

A linear probe (zero-initialised ``nn.Linear`` on the frozen, mean-pooled encoder features
of the whole unmasked image, trained by Adam) measures the features before and after
pretraining.

    python tests/pytorch_programs/tutorials/mae_pretrain.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
rng = np.random.default_rng(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

size, patch, n_classes = 16, 4, 4
L, P = (size // patch) ** 2, patch * patch


def make_images(count):
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing='ij')
    labels = rng.integers(0, n_classes, size=count)
    images = np.zeros((count, 1, size, size), np.float32)
    for i, c in enumerate(labels):
        freq = rng.uniform(0.5, 1.0)
        phase = rng.uniform(0, 2 * np.pi)
        coord = [yy, xx, (yy + xx) / np.sqrt(2), None][c]
        if c == 3:
            pattern = np.sin(freq * yy + phase) * np.sin(freq * xx + phase)
        else:
            pattern = np.sin(freq * coord + phase)
        images[i, 0] = pattern + rng.normal(0, 0.2, size=(size, size))
    return torch.from_numpy(images), torch.from_numpy(labels)


train_x, train_y = make_images(384)
test_x, test_y = make_images(128)
patches = F.unfold(train_x[:2], kernel_size=patch, stride=patch)      # (N, P, L)
back = F.fold(patches, output_size=(size, size), kernel_size=patch, stride=patch)
print(f'patches {tuple(patches.shape)}, fold(unfold(x)) == x: {torch.equal(back, train_x[:2])}')


def reference_patchify(imgs):
    """The MAE reference code's patchify: (N, C, H, W) -> (N, L, p * p * C)."""
    h = w = imgs.shape[2] // patch
    x = imgs.reshape(shape=(imgs.shape[0], imgs.shape[1], h, patch, w, patch))
    x = torch.einsum('nchpwq->nhwpqc', x)
    return x.reshape(shape=(imgs.shape[0], h * w, patch ** 2 * imgs.shape[1]))


print(f'reference patchify equals the unfold patches: '
      f'{torch.equal(reference_patchify(train_x[:2]), patches.transpose(1, 2))}')


class MAE(nn.Module):
    def __init__(self, d=32, d_dec=24, heads=4, depth=2):
        super().__init__()
        self.embed = nn.Linear(P, d)
        self.pos = nn.Parameter(torch.randn(1, L, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.dec_embed = nn.Linear(d, d_dec)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d_dec))
        self.dec_pos = nn.Parameter(torch.randn(1, L, d_dec) * 0.02)
        self.decoder = nn.TransformerEncoderLayer(d_dec, heads, 2 * d_dec, dropout=0.0,
                                                  batch_first=True, norm_first=True)
        self.pred = nn.Linear(d_dec, P)

    @staticmethod
    def patchify(images):
        return F.unfold(images, kernel_size=patch, stride=patch).transpose(1, 2)   # (N, L, P)

    def random_masking(self, x, mask_ratio, noise=None):
        n, length, d = x.shape
        keep = int(length * (1 - mask_ratio))
        if noise is None:
            noise = torch.rand(n, length, device=x.device)
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :keep]
        kept = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, d))
        mask = torch.ones(n, length, device=x.device)
        mask[:, :keep] = 0
        return kept, torch.gather(mask, 1, ids_restore), ids_restore

    def encode(self, images, mask_ratio=0.0, noise=None):
        x = self.embed(self.patchify(images)) + self.pos
        if mask_ratio > 0:
            x, mask, ids_restore = self.random_masking(x, mask_ratio, noise)
        else:
            mask = ids_restore = None
        return self.norm(self.encoder(x)), mask, ids_restore

    def forward(self, images, mask_ratio=0.75, noise=None):
        latent, mask, ids_restore = self.encode(images, mask_ratio, noise)
        x = self.dec_embed(latent)
        n, kept, d = x.shape
        x = torch.cat([x, self.mask_token.expand(n, L - kept, d)], dim=1)
        x = torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, d))
        pred = self.pred(self.decoder(x + self.dec_pos))
        target = self.patchify(images)
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True, unbiased=False)
        target = (target - mean) / (var + 1e-6) ** 0.5
        loss = ((pred - target) ** 2).mean(dim=-1)
        loss = (loss * mask).sum() / mask.sum()
        return loss, pred, mask


def probe(model, epochs=30):
    model.eval()
    with torch.no_grad():
        feats = model.encode(train_x.to(device))[0].mean(1)
        test_feats = model.encode(test_x.to(device))[0].mean(1)
    head = nn.Linear(feats.size(1), n_classes).to(device)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(epochs):
        loss = F.cross_entropy(head(feats), train_y.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (head(test_feats).argmax(1) == test_y.to(device)).float().mean().item()
    return loss.item(), acc


model = MAE().to(device)
# a fixed masking noise (as the reference implementations accept one) for a reproducible loss
fixed_noise = torch.from_numpy(rng.random((len(test_x), L))).float().to(device)
with torch.no_grad():
    loss, pred, mask = model(test_x.to(device), noise=fixed_noise)
    latent, _, _ = model.encode(test_x[:4].to(device))
print(f'untrained | test masked loss {loss.item():.4f} | kept per image '
      f'{(mask == 0).sum(1)[:4].tolist()} | latent {tuple(latent.shape)}, pooled norm '
      f'{latent.mean(1).norm().item():.4f}')
loss, acc = probe(model)
print(f'untrained encoder | probe loss {loss:.4f} | probe accuracy {acc:.3f}')
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, betas=(0.9, 0.95),
                              weight_decay=0.05)
for epoch in range(1, 13):
    model.train()
    order = torch.from_numpy(rng.permutation(len(train_x)))
    total = 0.0
    for i in range(0, len(order), 64):
        loss, _, _ = model(train_x[order[i:i + 64]].to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        test_loss, pred, mask = model(test_x.to(device), noise=fixed_noise)
    print(f'epoch {epoch} | train loss {total / 6:.4f} | test masked loss '
          f'{test_loss.item():.4f} | masked share {mask.mean().item():.2f}')

# un-normalize the prediction with the visible statistics and fold it back into images
target = MAE.patchify(test_x.to(device))
mean, std = target.mean(-1, keepdim=True), (target.var(-1, keepdim=True,
                                                       unbiased=False) + 1e-6).sqrt()
mixed = torch.where(mask.bool().unsqueeze(-1), pred * std + mean, target)
recon = F.fold(mixed.transpose(1, 2), output_size=(size, size), kernel_size=patch,
               stride=patch)
mse = F.mse_loss(recon, test_x.to(device)).item()
print(f'reconstruction {tuple(recon.shape)} | mse {mse:.4f} | psnr '
      f'{10 * math.log10(test_x.var().item() / mse):.2f} dB')
loss, acc = probe(model)
print(f'pretrained encoder | probe loss {loss:.4f} | probe accuracy {acc:.3f}')
