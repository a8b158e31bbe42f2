"""A tiny U-Net segmenting made-up shapes, written for the xpnn tests: 192 noisy 1x16x16
images, each holding one filled circle or square at a random place, with its mask.

Two down steps (Conv2d, BatchNorm2d, ReLU twice, MaxPool2d), a bottleneck, and two up steps
joined to the down path's maps with ``torch.cat``: the first up step a ConvTranspose2d, the
second F.interpolate (bilinear); a 1x1 convolution gives one logit per pixel. The loss is
BCEWithLogitsLoss with ``pos_weight`` (the background/foreground ratio) plus a soft Dice
loss; Adam; the held-out images' IoU each epoch.

    python tests/pytorch_programs/tutorials/unet_segmentation.py
"""
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
rng = random.Random(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_images, n_train, size = 192, 160, 16
ys = torch.arange(size).float().view(size, 1)
xs = torch.arange(size).float().view(1, size)
masks = torch.zeros(n_images, 1, size, size)
for i in range(n_images):
    cy, cx, r = rng.uniform(4, 11), rng.uniform(4, 11), rng.uniform(2, 4)
    if i % 2 == 0:
        masks[i, 0] = (ys - cy) ** 2 + (xs - cx) ** 2 <= r * r
    else:
        masks[i, 0] = ((ys - cy).abs() <= r) & ((xs - cx).abs() <= r)
images = masks + 0.6 * torch.randn(n_images, 1, size, size)
print(f'images {tuple(images.shape)}, foreground fraction {masks.mean().item():.3f}')

train_loader = DataLoader(TensorDataset(images[:n_train], masks[:n_train]), batch_size=32,
                          shuffle=True)
test_images, test_masks = images[n_train:].to(device), masks[n_train:].to(device)


def double_conv(n_in, n_out):
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(n_out, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out),
        nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.down1 = double_conv(1, c)
        self.down2 = double_conv(c, 2 * c)
        self.pool = nn.MaxPool2d(2)
        self.bottom = double_conv(2 * c, 4 * c)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, kernel_size=2, stride=2)
        self.conv2 = double_conv(4 * c, 2 * c)
        self.conv1 = double_conv(2 * c + c, c)
        self.head = nn.Conv2d(c, 1, kernel_size=1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        b = self.bottom(self.pool(d2))
        u2 = self.conv2(torch.cat([self.up2(b), d2], dim=1))
        u1 = F.interpolate(u2, scale_factor=2, mode='bilinear', align_corners=False)
        u1 = self.conv1(torch.cat([u1, d1], dim=1))
        return self.head(u1)


def dice_loss(logits, target, eps=1.0):
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    total = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    return 1 - ((2 * inter + eps) / (total + eps)).mean()


def iou(logits, target):
    pred, truth = logits > 0, target > 0.5
    inter = (pred & truth).sum().float()
    union = (pred | truth).sum().float()
    return (inter / union).item()


model = UNet().to(device)
print(f'parameters: {sum(p.numel() for p in model.parameters())}')
fg = masks[:n_train].mean()
bce = nn.BCEWithLogitsLoss(pos_weight=((1 - fg) / fg).reshape(1).to(device))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for epoch in range(1, 7):
    model.train()
    total = 0.0
    for xb, mb in train_loader:
        xb, mb = xb.to(device), mb.to(device)
        optimizer.zero_grad()
        logits = model(xb)
        loss = bce(logits, mb) + dice_loss(logits, mb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.size(0)
    model.eval()
    with torch.no_grad():
        logits = model(test_images)
        test_loss = bce(logits, test_masks) + dice_loss(logits, test_masks)
    print(f'epoch {epoch} | train loss {total / n_train:.4f} | test loss {test_loss.item():.4f} '
          f'| test IoU {iou(logits, test_masks):.3f}')

with torch.no_grad():
    pred = (torch.sigmoid(model(test_images[:1])) > 0.5).int()
print(pred[0, 0, ::2, ::2])
print(f'predicted {pred.sum().item()} pixels, true {int(test_masks[0].sum().item())}')
