"""Shifted-window attention (Liu et al., 2021, "Swin Transformer: Hierarchical Vision
Transformer using Shifted Windows"), written for the xpnn tests after the paper's
reference implementation, on made-up 16x16 images.

Each image holds a bright bar in one of four orientations (the class) over noise. A
``Conv2d(stride=patch)`` embeds 2x2 patches into an 8x8 grid of tokens; two Swin blocks
attend within 4x4 windows (partitioned and reversed by ``view``/``permute``/
``contiguous``/``view``), the second over windows shifted by ``torch.roll(x, shifts=(-s,
-s), dims=(1, 2))`` with the attention mask built from ``img_mask[:, h_slice, w_slice, :] =
cnt`` over ``slice()`` triples, ``mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)``
and ``masked_fill(mask != 0, float(-100.0))``. Each window attention adds a relative-
position bias from a table (an ``nn.Parameter`` initialised by ``nn.init.trunc_normal_(std=
.02)``) indexed by a buffer from ``torch.meshgrid``, ``torch.flatten``, ``[:, :, None] -
[:, None, :]``, ``permute`` and ``sum(-1)`` (``register_buffer(..., persistent=False)``),
gathered by ``table[index.view(-1)].view(...)``. Patch merging joins ``x[:, 0::2, 0::2,
:]`` and its three neighbours by ``torch.cat`` into ``nn.Linear(4C, 2C, bias=False)``; a
last block attends over the whole 4x4 grid, then LayerNorm, the mean over tokens and a
linear head under ``nn.CrossEntropyLoss(label_smoothing=0.1)`` and AdamW.

    python tests/pytorch_programs/tutorials/swin_window.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def make_images(count, size=16):
    images = 0.2 * rng.standard_normal((count, 1, size, size)).astype(np.float32)
    labels = rng.integers(0, 4, count)
    for img, label in zip(images, labels):
        r, c = rng.integers(4, size - 4, 2)
        for k in range(-3, 4):
            dr, dc = [(0, k), (k, 0), (k, k), (k, -k)][label]
            img[0, r + dr, c + dc] += 2.5
    return torch.from_numpy(images), torch.from_numpy(labels)


def window_partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws * ws, C)


def window_reverse(windows, ws, H, W):
    B = windows.shape[0] // (H * W // ws // ws)
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def relative_position_index(ws):
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
    flat = torch.flatten(coords, 1)                           # 2, ws*ws
    rel = flat[:, :, None] - flat[:, None, :]                 # 2, ws*ws, ws*ws
    rel = rel.permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


def shift_mask(H, W, ws, shift):
    img_mask = torch.zeros((1, H, W, 1))
    cnt = 0
    for h in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
        for w in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = window_partition(img_mask, ws).squeeze(-1)         # nW, ws*ws
    mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))


class WindowAttention(nn.Module):
    def __init__(self, dim, ws, heads):
        super().__init__()
        self.ws, self.heads = ws, heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * ws - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=.02)
        self.register_buffer("relative_position_index", relative_position_index(ws),
                             persistent=False)

    def forward(self, x, mask=None):
        Bw, N, C = x.shape
        qkv = self.qkv(x).reshape(Bw, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(
            N, N, -1).permute(2, 0, 1).contiguous()
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(Bw // nW, nW, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(Bw, N, C))


class SwinBlock(nn.Module):
    def __init__(self, dim, resolution, heads, ws=4, shift=0):
        super().__init__()
        self.resolution, self.ws, self.shift = resolution, ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        mask = shift_mask(resolution, resolution, ws, shift) if shift else None
        self.register_buffer("attn_mask", mask, persistent=False)

    def forward(self, x):
        B, L, C = x.shape
        H = W = self.resolution
        h = self.norm1(x).view(B, H, W, C)
        if self.shift:
            h = torch.roll(h, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = self.attn(window_partition(h, self.ws), mask=self.attn_mask)
        h = window_reverse(windows, self.ws, H, W)
        if self.shift:
            h = torch.roll(h, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + h.view(B, L, C)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim, resolution):
        super().__init__()
        self.resolution = resolution
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        B, L, C = x.shape
        x = x.view(B, self.resolution, self.resolution, C)
        x0 = x[:, 0::2, 0::2, :]
        x1 = x[:, 1::2, 0::2, :]
        x2 = x[:, 0::2, 1::2, :]
        x3 = x[:, 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1).view(B, -1, 4 * C)
        return self.reduction(self.norm(x))


class TinySwin(nn.Module):
    def __init__(self, dim=24, patch=2, n_classes=4):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.blocks = nn.Sequential(SwinBlock(dim, 8, 2, shift=0), SwinBlock(dim, 8, 2, shift=2))
        self.merge = PatchMerging(dim, 8)
        self.last = SwinBlock(2 * dim, 4, 4, shift=0)
        self.norm = nn.LayerNorm(2 * dim)
        self.head = nn.Linear(2 * dim, n_classes)

    def forward(self, images):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)    # B, 64, dim
        x = self.last(self.merge(self.blocks(x)))
        return self.head(self.norm(x).mean(1))


index = relative_position_index(4)
print(index[:2, :8])
print(f'relative position index {tuple(index.shape)} {index.dtype}, max {index.max().item()}')
mask = shift_mask(8, 8, 4, 2)
print(f'shift mask {tuple(mask.shape)}, masked pairs per window '
      f'{(mask != 0).sum(dim=(1, 2)).tolist()}')
x = torch.arange(2 * 8 * 8 * 3, dtype=torch.float32).view(2, 8, 8, 3)
print(f'partition/reverse round trip: '
      f'{torch.equal(window_reverse(window_partition(x, 4), 4, 8, 8), x)}')

train_x, train_y = make_images(320)
test_x, test_y = make_images(128)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)
model = TinySwin().to(device)
print(f'parameters {sum(p.numel() for p in model.parameters())}, buffers in state_dict '
      f'{[k for k in model.state_dict() if "index" in k or "mask" in k]}')
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        loss = criterion(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    model.train()
    return loss, accuracy


loss, accuracy = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}')
for epoch in range(1, 7):
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = criterion(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, accuracy = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'accuracy {accuracy:.3f}')
