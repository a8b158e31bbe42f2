"""A mini MobileNetV2 / EfficientNet (Sandler et al., 2018; Tan and Le, 2019), written for
the xpnn tests after torchvision's EfficientNet recipe, on made-up images.

The images (3x12x12) belong to one of three classes: a bright disc, a ring, or a cross, at a
random place, under noise. The network: a 3x3 stem, then inverted residual (MBConv) blocks,
each a 1x1 expansion, a depthwise 3x3 ``nn.Conv2d(groups=c)``, squeeze-and-excitation
(``nn.AdaptiveAvgPool2d(1)``, 1x1 convolutions, ``nn.SiLU``, ``nn.Sigmoid``, a multiply)
and a 1x1 projection, with ``nn.BatchNorm2d(momentum=0.01, eps=1e-3)`` after every
convolution; residual blocks drop their branch per sample in training (stochastic depth:
``torch.empty([N, 1, 1, 1], dtype=x.dtype, device=x.device).bernoulli_(keep).div_(keep)``)
and not in evaluation. The head uses ``nn.Hardswish``. The convolutions start from
``nn.init.kaiming_normal_(m.weight, mode="fan_out")`` over ``model.modules()``.

Training: RMSprop(alpha=0.9, eps=1e-3, momentum=0.9) under a LinearLR warmup followed by
CosineAnnealingLR, joined by ``SequentialLR(milestones=[...])``, stepped per batch; a weight
EMA by ``torch.optim.swa_utils.AveragedModel(model,
multi_avg_fn=get_ema_multi_avg_fn(0.99))``, whose BatchNorm statistics are recomputed by
``update_bn`` before it is evaluated.

The stochastic-depth draws (``bernoulli_``) are not replayed, so the test runs this program
plainly on each library's own seed.

    python tests/pytorch_programs/tutorials/efficientnet_se.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

side, num_classes = 12, 3


def make_images(count):
    labels = rng.integers(0, num_classes, size=count)
    yy, xx = np.mgrid[0:side, 0:side]
    images = 0.3 * rng.standard_normal((count, 3, side, side))
    for i, label in enumerate(labels):
        cy, cx = rng.uniform(4, side - 4, size=2)
        r = np.hypot(yy - cy, xx - cx)
        if label == 0:
            shape = r < 2.5
        elif label == 1:
            shape = np.abs(r - 2.8) < 0.8
        else:
            shape = (np.abs(yy - cy) < 1.0) | (np.abs(xx - cx) < 1.0)
        images[i] += shape * rng.uniform(0.8, 1.2, size=(3, 1, 1))
    return torch.from_numpy(images.astype(np.float32)), torch.from_numpy(labels).long()


train_x, train_y = make_images(192)
test_x, test_y = make_images(128)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


def bn(channels):
    return nn.BatchNorm2d(channels, momentum=0.01, eps=1e-3)


class StochasticDepth(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        noise = torch.empty([x.shape[0], 1, 1, 1], dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(keep).div_(keep)
        return x * noise


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.act = nn.SiLU()
        self.gate = nn.Sigmoid()

    def forward(self, x):
        scale = self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))
        return x * scale


class MBConv(nn.Module):
    def __init__(self, cin, cout, expand, stride, drop):
        super().__init__()
        hidden = cin * expand
        self.use_residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), bn(hidden), nn.SiLU(),
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            bn(hidden), nn.SiLU(),
            SqueezeExcitation(hidden, max(1, cin // 4)),
            nn.Conv2d(hidden, cout, 1, bias=False), bn(cout))
        self.stochastic_depth = StochasticDepth(drop)

    def forward(self, x):
        out = self.block(x)
        if self.use_residual:
            out = self.stochastic_depth(out) + x
        return out


class MiniEfficientNet(nn.Module):
    def __init__(self, drop=0.2):
        super().__init__()
        settings = [(8, 8, 1, 1), (8, 16, 3, 2), (16, 16, 3, 1), (16, 24, 3, 2),
                    (24, 24, 3, 1)]
        blocks = []
        for i, (cin, cout, expand, stride) in enumerate(settings):
            blocks.append(MBConv(cin, cout, expand, stride, drop * i / len(settings)))
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), bn(8), nn.Hardswish(),
            *blocks,
            nn.Conv2d(24, 48, 1, bias=False), bn(48), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(48, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.uniform_(m.weight, -0.1, 0.1)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


model = MiniEfficientNet().to(device)
depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
print(f'parameters {sum(p.numel() for p in model.parameters())}, depthwise convs '
      f'{len(depthwise)}, first {tuple(depthwise[0].weight.shape)} groups {depthwise[0].groups}')
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, eps=1e-3,
                                momentum=0.9, weight_decay=1e-5)
epochs, warmup = 6, 8
total_steps = epochs * len(loader)
scheduler = SequentialLR(optimizer, schedulers=[
    LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
    CosineAnnealingLR(optimizer, T_max=total_steps - warmup)], milestones=[warmup])
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)

sd = StochasticDepth(0.5)
sd.eval()
probe = torch.ones(4, 2, 1, 1)
print(f'stochastic depth in eval is the identity: {torch.equal(sd(probe), probe)}')
sd.train()
kept = sd(probe)[:, 0, 0, 0]
print(f'stochastic depth in training keeps 0 or 1/keep: '
      f'{bool(((kept == 0) | (kept == 2)).all())}')


def evaluate(net):
    net.eval()
    with torch.no_grad():
        logits = net(test_x.to(device))
        loss = F.cross_entropy(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    net.train()
    return loss, accuracy


loss, accuracy = evaluate(model)
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}')
# BatchNorm at momentum 0.01 needs far more steps than these for its running statistics:
# the training batches' statistics are used until update_bn recomputes them at the end
for epoch in range(1, epochs + 1):
    total, correct = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = criterion(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        ema.update_parameters(model)
        total += loss.item()
        correct += (logits.argmax(1) == y).sum().item()
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | train loss '
          f'{total / len(loader):.4f} | train accuracy {correct / len(train_x):.3f}')

print(f'ema updates {ema.n_averaged.item()}')
update_bn(loader, model, device=device)
loss, accuracy = evaluate(model)
print(f'model after update_bn | test loss {loss:.4f} | accuracy {accuracy:.3f}')
update_bn(loader, ema, device=device)
ema_loss, ema_accuracy = evaluate(ema)
print(f'ema model | test loss {ema_loss:.4f} | accuracy {ema_accuracy:.3f}')
first = depthwise[0].weight
ema_first = [m for m in ema.module.modules()
             if isinstance(m, nn.Conv2d) and m.groups > 1][0].weight
print(f'ema weights differ from the model\'s: {not torch.allclose(first, ema_first)}')
