"""A small MobileNetV2 / ShuffleNet hybrid (Sandler et al., 2018, "MobileNetV2: Inverted
Residuals and Linear Bottlenecks"; Zhang et al., 2018, "ShuffleNet"; Hu et al., 2018,
"Squeeze-and-Excitation Networks"; Howard et al., 2019, "Searching for MobileNetV3"), written
for the xpnn tests after torchvision's mobilenetv2.py, on made-up images.

The images are 3x16x16 made with NumPy: each of four classes is a noisy oriented stripe
pattern. The network is a stem convolution, then inverted residual blocks: a 1x1 expansion,
a depthwise 3x3 ``nn.Conv2d(groups=C)``, a squeeze-and-excitation gate (AdaptiveAvgPool2d(1),
1x1 convs, Hardswish, Hardsigmoid) and a linear 1x1 projection, every conv followed by
``BatchNorm2d(momentum=0.01)`` and ReLU6 but the projection, with a residual connection when
the stride is 1 and the channels match. Between the stages a ShuffleNet channel shuffle
mixes the groups by ``view`` / ``transpose(1, 2)`` / ``contiguous`` / ``view``. A pooled
linear head classifies. SGD with momentum; train and test losses and accuracy per epoch,
``model.train()`` and ``model.eval()`` around them; the slow running statistics are then
recomputed by a cumulative average (``reset_running_stats``, ``momentum = None``). Finally a
conv + BN pair in eval mode is folded by ``torch.nn.utils.fusion.fuse_conv_bn_eval`` and
checked equal to the unfused pair.

    python tests/pytorch_programs/tutorials/mobilenet_shufflenet.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def make_data(count):
    """Stripes at one of four angles, a random phase, per-channel gains, Gaussian noise."""
    labels = rng.integers(0, 4, count)
    yy, xx = np.meshgrid(np.arange(16), np.arange(16), indexing='ij')
    angles = labels * np.pi / 4
    phase = rng.uniform(0, 2 * np.pi, count)
    proj = (np.cos(angles)[:, None, None] * xx + np.sin(angles)[:, None, None] * yy)
    stripes = np.sin(0.9 * proj + phase[:, None, None])
    gains = rng.uniform(0.5, 1.5, (count, 3, 1, 1))
    images = gains * stripes[:, None] + 1.5 * rng.standard_normal((count, 3, 16, 16))
    return torch.tensor(images, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w)
    x = x.transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


def conv_bn(cin, cout, kernel=3, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, momentum=0.01)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduce=4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduce, 1)
        self.act = nn.Hardswish()
        self.fc2 = nn.Conv2d(channels // reduce, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        s = self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            conv_bn(cin, hidden, kernel=1),
            conv_bn(hidden, hidden, kernel=3, stride=stride, groups=hidden),
            SqueezeExcite(hidden),
            conv_bn(hidden, cout, kernel=1, act=False))

    def forward(self, x):
        out = self.block(x)
        return x + out if self.use_res else out


class TinyMobileNet(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        self.stem = conv_bn(3, 16, stride=1)
        self.stage1 = nn.Sequential(InvertedResidual(16, 16, 1, 4),
                                    InvertedResidual(16, 24, 2, 4))
        self.stage2 = nn.Sequential(InvertedResidual(24, 24, 1, 4),
                                    InvertedResidual(24, 32, 2, 4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        x = self.stem(x)
        x = channel_shuffle(self.stage1(x), groups=4)
        x = channel_shuffle(self.stage2(x), groups=4)
        return self.head(torch.flatten(self.pool(x), 1))


train_x, train_y = make_data(256)
test_x, test_y = make_data(128)
shuffled = channel_shuffle(torch.arange(8.0).view(1, 8, 1, 1), groups=2)
print(f'channel shuffle of 0..7 in 2 groups: {shuffled.flatten().tolist()}')

model = TinyMobileNet().to(device)
print(f'parameters: {sum(p.numel() for p in model.parameters())}')
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=4e-5)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=16, shuffle=True)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        loss = F.cross_entropy(logits, test_y.to(device)).item()
        correct = (logits.argmax(1) == test_y.to(device)).sum().item()
    return loss, correct / len(test_y)


loss, acc = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {acc:.3f}')
for epoch in range(1, 9):
    model.train()
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, acc = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'accuracy {acc:.3f}')

# momentum=0.01 moves the running statistics 1% per step, too slowly for 128 steps: they are
# recomputed as a cumulative average (momentum=None) over one pass of the training data
for m in model.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.reset_running_stats()
        m.momentum = None
model.train()
with torch.no_grad():
    for x, _ in loader:
        model(x.to(device))
loss, acc = evaluate()
print(f'recalibrated BN | test loss {loss:.4f} | accuracy {acc:.3f}')

# fold the stem's conv and BatchNorm into one conv (inference only)
model.eval()
conv, bn = model.stem[0], model.stem[1]
fused = fuse_conv_bn_eval(conv, bn)
with torch.no_grad():
    x = test_x[:8].to(device)
    ref = bn(conv(x))
    out = fused(x)
print(f'fused conv has bias: {fused.bias is not None}, '
      f'running var mean {bn.running_var.mean().item():.4f}')
print(f'fused matches conv + bn: {torch.allclose(out, ref, atol=1e-5)}, '
      f'max diff below 1e-5: {bool((out - ref).abs().max() < 1e-5)}')
