"""MixUp and CutMix with label smoothing, then stochastic weight averaging, written small for
the xpnn tests after the MixUp (Zhang et al., 2018), CutMix (Yun et al., 2019) and SWA
(Izmailov et al., 2018) papers and PyTorch's SWA recipe, on 480 made-up 1x12x12 images of
four textures (horizontal stripes, vertical stripes, checkerboard, a centred blob) under noise.

Each batch is mixed with a partner batch from ``torch.randperm``, with the weight ``lam``
drawn from ``torch.distributions.Beta(a, a).sample()``: even batches by MixUp
(``torch.lerp`` of the images), odd ones by CutMix (a box cut from the partner and pasted by
slicing, ``lam`` corrected to the box's area); the loss is the ``lam``-weighted sum of the two
label-smoothed cross-entropies. The learning rate follows ``CosineAnnealingWarmRestarts``;
after 6 epochs ``torch.optim.swa_utils.AveragedModel`` averages the weights of 4 more epochs
under ``SWALR``, ``update_bn`` recomputes the BatchNorm statistics over the loader, and the
test accuracies of the plain and the averaged model are printed.

    python tests/pytorch_programs/tutorials/mixup_swa.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, SWALR, update_bn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
device = 'cuda' if torch.cuda.is_available() else 'cpu'


def make_textures(n):
    labels = torch.arange(n) % 4
    rows = torch.arange(12).view(12, 1).float()
    cols = torch.arange(12).view(1, 12).float()
    patterns = torch.stack([
        (rows % 4 < 2).float().expand(12, 12),
        (cols % 4 < 2).float().expand(12, 12),
        ((rows // 3 + cols // 3) % 2).float(),
        torch.exp(-((rows - 5.5) ** 2 + (cols - 5.5) ** 2) / 10.0),
    ])
    images = patterns[labels].unsqueeze(1) + 1.5 * torch.randn(n, 1, 12, 12)
    return images, labels


train_x, train_y = make_textures(480)
test_x, test_y = make_textures(160)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


class Net(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 12, 3, padding=1), nn.BatchNorm2d(12), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(12, 24, 3, padding=1), nn.BatchNorm2d(24), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(24, classes)

    def forward(self, x):
        return self.head(self.features(x))


def mixup(x, y, beta):
    lam = beta.sample().item()
    index = torch.randperm(x.size(0), device=x.device)
    mixed = torch.lerp(x[index], x, lam)
    return mixed, y, y[index], lam


def cutmix(x, y, beta):
    lam = beta.sample().item()
    index = torch.randperm(x.size(0), device=x.device)
    h, w = x.shape[2], x.shape[3]
    cut = math.sqrt(1.0 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy, cx = torch.randint(h, (1,)).item(), torch.randint(w, (1,)).item()
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    mixed = x.clone()
    mixed[:, :, y0:y1, x0:x1] = x[index, :, y0:y1, x0:x1]
    lam = 1.0 - (y1 - y0) * (x1 - x0) / (h * w)
    return mixed, y, y[index], lam


def accuracy(net):
    net.eval()
    with torch.no_grad():
        pred = net(test_x.to(device)).argmax(dim=1)
    return (pred == test_y.to(device)).float().mean().item()


model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2,
                                                                 eta_min=1e-3)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
beta = torch.distributions.Beta(torch.tensor(0.4), torch.tensor(0.4))
swa_model = AveragedModel(model)
swa_scheduler = SWALR(optimizer, swa_lr=0.02, anneal_epochs=2, anneal_strategy='cos')
swa_start, epochs = 6, 10
steps_per_epoch = len(loader)

for epoch in range(epochs):
    model.train()
    total, count = 0.0, 0
    for i, (x, y) in enumerate(loader):
        x, y = x.to(device), y.to(device)
        mixed, y_a, y_b, lam = (mixup if i % 2 == 0 else cutmix)(x, y, beta)
        out = model(mixed)
        loss = lam * criterion(out, y_a) + (1 - lam) * criterion(out, y_b)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch < swa_start:
            scheduler.step(epoch + (i + 1) / steps_per_epoch)
        total += loss.item() * x.size(0)
        count += x.size(0)
    if epoch >= swa_start:
        swa_model.update_parameters(model)
        swa_scheduler.step()
    lr = optimizer.param_groups[0]['lr']
    print(f'epoch {epoch + 1:2d} | lr {lr:.4f} | mixed loss {total / count:.4f} '
          f'| test accuracy {accuracy(model):.3f}')

update_bn(loader, swa_model, device=device)
print(f'averaged {swa_model.n_averaged.item()} models')
print(f'plain model accuracy {accuracy(model):.3f} | swa model accuracy {accuracy(swa_model):.3f}')
bn = swa_model.module.features[1]
print(f'swa first BatchNorm running mean {bn.running_mean[:3].tolist()}, '
      f'batches tracked {bn.num_batches_tracked.item()}')
