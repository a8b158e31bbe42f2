"""A tiny Vision Transformer, written for the xpnn tests, on 640 made-up 1x12x12 images:
each holds a bright line across it over noise, horizontal, vertical, diagonal or
antidiagonal (the class), at a random offset.

The patch embedding is a Conv2d with stride equal to its kernel, flattened and transposed
to a sequence of 9 patches; a class token and a positional embedding are ``nn.Parameter``
tensors started at zeros and drawn by ``nn.init.trunc_normal_``. Attention is written by
hand with ``torch.einsum`` and ``.softmax(-1)``; pre-norm blocks with LayerNorm and a GELU
MLP; AdamW over two parameter groups (no weight decay on biases, norms and embeddings)
under a LambdaLR warmup-then-cosine schedule; label smoothing; accuracy each epoch.

    python tests/pytorch_programs/tutorials/vit.py
"""
import math
import random

import torch
import torch.nn as nn

torch.manual_seed(21)
rng = random.Random(21)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_images, n_train, size, patch = 512, 384, 12, 4
images = 0.3 * torch.randn(n_images, 1, size, size)
labels = torch.tensor([rng.randrange(4) for _ in range(n_images)])
diagonal = torch.eye(size)
for i, c in enumerate(labels.tolist()):
    offset = rng.randrange(size)
    if c == 0:
        images[i, 0, offset, :] += 1.5
    elif c == 1:
        images[i, 0, :, offset] += 1.5
    elif c == 2:
        images[i, 0] += 1.5 * diagonal.roll(offset, dims=1)
    else:
        images[i, 0] += 1.5 * diagonal.roll(offset, dims=1).flip(1)
print(f'images {tuple(images.shape)}, classes {torch.bincount(labels).tolist()}')

train_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(images[:n_train], labels[:n_train]),
    batch_size=32, shuffle=True)
test_images, test_labels = images[n_train:].to(device), labels[n_train:].to(device)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = torch.einsum('...qd,...kd->...qk', q, k) * self.scale
        attn = attn.softmax(-1)
        self.attn = attn.detach()
        out = torch.einsum('bhqk,bhkd->bhqd', attn, v)
        return self.proj(out.transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=2):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(),
                                 nn.Dropout(0.1), nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, image_size=12, patch_size=4, dim=32, depth=2, heads=4, n_classes=4):
        super().__init__()
        n_patches = (image_size // patch_size) ** 2
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n_patches + 1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


model = ViT().to(device)
print(f'parameters: {sum(p.numel() for p in model.parameters() if p.requires_grad)}')
decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim < 2 or name in ('cls_token', 'pos_embed') else decay).append(p)
optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                               {'params': no_decay, 'weight_decay': 0.0}],
                              lr=3e-3, betas=(0.9, 0.99))
epochs = 6
total_steps, warmup = epochs * len(train_loader), 8


def warmup_cosine(step):
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=warmup_cosine)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)



@torch.inference_mode()
def evaluate(model, images, labels):
    model.eval()
    logits = model(images)
    return (criterion(logits, labels).item(),
            (logits.argmax(dim=1) == labels).float().mean().item())


for epoch in range(1, epochs + 1):
    model.train()
    total, correct = 0.0, 0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        logits = model(xb)
        loss = criterion(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(xb)
        correct += (logits.argmax(1) == yb).sum().item()
    test_loss, test_acc = evaluate(model, test_images, test_labels)
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | train loss '
          f'{total / n_train:.4f} | train acc {correct / n_train:.3f} | test loss '
          f'{test_loss:.4f} | test acc {test_acc:.3f}')

with torch.no_grad():
    model(test_images[:1])
cls_attention = model.blocks[-1].attn.attn[0, :, 0, 1:].mean(0).reshape(3, 3)
torch.set_printoptions(precision=3, sci_mode=False)
print(f'class {test_labels[0].item()}: class-token attention over the 3x3 patches')
print(cls_attention)
print(f'most attended patch: {cls_attention.flatten().argmax().item()}, last grad norm '
      f'{grad_norm:.4f}, weight norm '
      f'{nn.utils.parameters_to_vector(model.parameters()).norm().item():.4f}')
