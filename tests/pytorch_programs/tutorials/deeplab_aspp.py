"""A small DeepLabv3 (Chen et al., 2017, "Rethinking Atrous Convolution for Semantic Image
Segmentation"), written for the xpnn tests on made-up images of shapes.

Each 32x32 RGB image holds a square (class 1) and a disc (class 2) on a noisy background
(class 0); the pixels on the shapes' outlines are labelled 255 and left out of the loss by
``nn.CrossEntropyLoss(ignore_index=255)``, as VOC's boundary pixels are. A strided conv
backbone brings the image to 8x8; the ASPP head runs parallel 3x3 ``nn.Conv2d`` branches
with dilation 1, 2 and 3 (padding = dilation), a 1x1 branch and an image-pooling branch
(``nn.AdaptiveAvgPool2d(1)`` brought back by ``F.interpolate(size=x.shape[-2:],
mode="bilinear", align_corners=False)``), concatenates them by ``torch.cat``, projects
them (BatchNorm2d, ReLU, ``nn.Dropout2d``), and the logits go back to the input size by
``F.interpolate(scale_factor=4, mode="bilinear", align_corners=True)``. SGD with momentum and
weight decay under the poly schedule (1 - it / max_it) ** 0.9 by ``LambdaLR``; a confusion
matrix by ``torch.bincount`` and the mean IoU from its diagonal.

    python tests/pytorch_programs/tutorials/deeplab_aspp.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, size = 3, 32


def make_images(count):
    yy, xx = np.mgrid[0:size, 0:size]
    images = 0.3 * rng.standard_normal((count, 3, size, size)).astype(np.float32)
    labels = np.zeros((count, size, size), dtype=np.int64)
    for i in range(count):
        x0, y0 = rng.integers(2, 14, size=2)
        side = rng.integers(8, 14)
        square = (xx >= x0) & (xx < x0 + side) & (yy >= y0) & (yy < y0 + side)
        cx, cy = rng.integers(10, 24, size=2)
        r = rng.uniform(4, 8)
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        disc = dist < r
        images[i, 0][square] += 1.5
        images[i, 1][square] -= 0.5
        images[i, 2][disc] += 1.5
        images[i, 1][disc] += 0.5
        labels[i][square] = 1
        labels[i][disc] = 2
        # the outlines are ambiguous: ignored
        labels[i][np.abs(dist - r) < 0.7] = 255
        edge = square & ((xx == x0) | (xx == x0 + side - 1) | (yy == y0) | (yy == y0 + side - 1))
        labels[i][edge & ~disc] = 255
    return torch.from_numpy(images), torch.from_numpy(labels)


train_x, train_y = make_images(96)
test_x, test_y = make_images(32)
print(f'labelled pixels per class: {torch.bincount(train_y[train_y != 255], minlength=n_classes)}')
print(f'images {tuple(train_x.shape)} {train_x.dtype}, labels {tuple(train_y.shape)} '
      f'{train_y.dtype}, ignored pixels {(train_y == 255).float().mean().item():.3f}')
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=16, shuffle=True)


def conv_bn_relu(cin, cout, kernel=3, stride=1, padding=1, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding,
                                   dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ASPPPooling(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())

    def forward(self, x):
        size = x.shape[-2:]
        for mod in self:
            x = mod(x)
        return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


class ASPP(nn.Module):
    def __init__(self, cin, cout, rates=(1, 2, 3)):
        super().__init__()
        branches = [conv_bn_relu(cin, cout, kernel=1, padding=0)]
        for rate in rates:
            branches.append(conv_bn_relu(cin, cout, padding=rate, dilation=rate))
        branches.append(ASPPPooling(cin, cout))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(branches) * cout, cout, 1, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(), nn.Dropout2d(0.1))

    def forward(self, x):
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


class DeepLab(nn.Module):
    def __init__(self, n_classes, width=16):
        super().__init__()
        self.backbone = nn.Sequential(conv_bn_relu(3, width, stride=2),
                                      conv_bn_relu(width, width),
                                      conv_bn_relu(width, 2 * width, stride=2))
        self.aspp = ASPP(2 * width, width)
        self.classifier = nn.Conv2d(width, n_classes, 1)

    def forward(self, x):
        h = self.aspp(self.backbone(x))
        return F.interpolate(self.classifier(h), scale_factor=4, mode='bilinear',
                             align_corners=True)


def confusion(pred, target, n):
    valid = target != 255
    counts = torch.bincount(n * target[valid] + pred[valid], minlength=n * n)
    return counts.reshape(n, n)


def mean_iou(conf):
    inter = torch.diag(conf).float()
    union = conf.sum(0).float() + conf.sum(1).float() - inter
    iou = inter / union          # nan for a class absent from both
    return torch.nanmean(iou), iou


model = DeepLab(n_classes).to(device)
print(f'parameters {sum(p.numel() for p in model.parameters())}')
# the shapes are a fifth of the pixels: weighted up, or a net may never predict one
criterion = nn.CrossEntropyLoss(weight=torch.tensor([0.5, 2.0, 2.0], device=device),
                                ignore_index=255)
epochs = 6
max_iter = epochs * len(loader)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                              lambda it: (1 - it / max_iter) ** 0.9)


def evaluate():
    model.eval()
    conf = torch.zeros(n_classes, n_classes, dtype=torch.long, device=device)
    with torch.no_grad():
        logits = model(test_x.to(device))
        target = test_y.to(device)
        loss = criterion(logits, target).item()
        conf += confusion(logits.argmax(1), target, n_classes)
    model.train()
    miou, iou = mean_iou(conf)
    return loss, miou.item(), iou, conf


loss, miou, _, _ = evaluate()
print(f'untrained | test loss {loss:.4f} | mIoU {miou:.3f}')
for epoch in range(1, epochs + 1):
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        assert logits.shape == (x.shape[0], n_classes, size, size)
        loss = criterion(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item()
    loss, miou, iou, conf = evaluate()
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | '
          f'train loss {total / len(loader):.4f} | test loss {loss:.4f} | mIoU {miou:.3f}')

print(f'per-class IoU {[round(v, 3) for v in iou.tolist()]}')
print(f'confusion matrix rows sum to the labelled pixels: '
      f'{conf.sum().item() == (test_y != 255).sum().item()}')
# a class missing from the batch gives nan IoU, skipped by nanmean
conf_missing = confusion(torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long),
                         n_classes)
print(f'mIoU with absent classes: {mean_iou(conf_missing)[0].item():.3f}')
