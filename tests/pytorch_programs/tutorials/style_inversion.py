"""Optimizing an input image, after the neural style transfer tutorial, written for the
xpnn tests: the image itself is the parameter (``torch.rand(..., requires_grad=True)`` under
``optim.Adam([img])``), a small random conv net is frozen (``requires_grad_(False)`` on its
parameters), the style is matched through Gram matrices (``torch.bmm`` at one layer,
``torch.einsum`` at another), the content through a feature MSE, a total-variation loss by
slicing smooths the image, and the image is clamped to [0, 1] after each step
(``img.data.clamp_``, then ``clamp_`` under ``torch.no_grad()``).

    python tests/pytorch_programs/tutorials/style_inversion.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(11)

size = 24
ys = torch.linspace(0, 1, size)[:, None]
xs = torch.linspace(0, 1, size)[None, :]
# the style: diagonal stripes in three colours; the content: a bright disc on a dark ground
stripes = torch.stack([0.5 + 0.5 * torch.sin(2 * math.pi * 4 * (xs + ys) + phase)
                       for phase in (0.0, 2.0, 4.0)])
style_img = stripes.unsqueeze(0)
disc = ((xs - 0.5) ** 2 + (ys - 0.5) ** 2 < 0.09).float()
content_img = (0.2 + 0.6 * disc).expand(3, size, size).unsqueeze(0).contiguous()


class FeatureNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
        self.block2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                                    nn.AvgPool2d(2))
        self.block3 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())

    def forward(self, x):
        return self.block3(self.block2(self.block1(x)))


def gram_bmm(f):
    b, c, h, w = f.size()
    flat = f.view(b, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def gram_einsum(f):
    b, c, h, w = f.shape
    return torch.einsum('bchw,bdhw->bcd', f, f) / (c * h * w)


def total_variation(img):
    dh = (img[:, :, 1:, :] - img[:, :, :-1, :]).abs().mean()
    dw = (img[:, :, :, 1:] - img[:, :, :, :-1]).abs().mean()
    return dh + dw


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean).view(-1, 1, 1))
        self.register_buffer('std', torch.tensor(std).view(-1, 1, 1))

    def forward(self, img):
        return (img - self.mean) / self.std


features = {}


def save_output(name):
    def hook(module, inputs, output):
        features[name] = output
    return hook


net = nn.Sequential(Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                    FeatureNet()).eval()
handles = [net[1].block1.register_forward_hook(save_output('f1')),
           net[1].block2.register_forward_hook(save_output('f2'))]
for p in net.parameters():
    p.requires_grad_(False)
print(f'frozen parameters: {sum(p.numel() for p in net.parameters())}, trainable: '
      f'{sum(p.numel() for p in net.parameters() if p.requires_grad)}')

with torch.no_grad():
    net(style_img)
    s1, s2 = features['f1'], features['f2']
    style_grams = [gram_bmm(s1), gram_einsum(s2)]
    content_target = net(content_img).detach()
    print(f'the two Gram forms agree: '
          f'{torch.allclose(gram_bmm(s2), gram_einsum(s2), atol=1e-6)}')

img = torch.rand(1, 3, size, size, requires_grad=True)
optimizer = torch.optim.Adam([img], lr=0.05)
style_weight, content_weight, tv_weight = 1e5, 1e2, 0.5

for step in range(1, 61):
    optimizer.zero_grad()
    f3 = net(img)
    f1, f2 = features['f1'], features['f2']
    style_loss = F.mse_loss(gram_bmm(f1), style_grams[0]) + \
        F.mse_loss(gram_einsum(f2), style_grams[1])
    content_loss = F.mse_loss(f3, content_target)
    tv_loss = total_variation(img)
    loss = style_weight * style_loss + content_weight * content_loss + tv_weight * tv_loss
    loss.backward()
    optimizer.step()
    if step % 2:
        img.data.clamp_(0, 1)
    else:
        with torch.no_grad():
            img.clamp_(0, 1)
    if step == 1 or step % 10 == 0:
        print(f'step {step} | loss {loss.item():.4f} | style {style_loss.item():.3e} | '
              f'content {content_loss.item():.3e} | tv {tv_loss.item():.4f}')

for handle in handles:
    handle.remove()
features.clear()
net(img)
print(f'features after removing the hooks: {len(features)}')
assert img.grad is not None and all(p.grad is None for p in net.parameters())
print(f'image range [{img.min().item():.3f}, {img.max().item():.3f}], '
      f'requires_grad {img.requires_grad}, is_leaf {img.is_leaf}')
