"""Interpreting a small CNN: a gradient saliency map, Grad-CAM (Selvaraju et al., 2017,
"Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization") and
integrated gradients (Sundararajan et al., 2017, "Axiomatic Attribution for Deep Networks"),
written for the xpnn tests after the usual hook-based recipes, on made-up 3-channel 16x16
images.

The classifier learns which of 3 shapes (a filled square, a ring, a cross, in a random place
and colour, under noise) an image holds. Then:

* saliency: ``input.requires_grad_()``, the class score's backward, and
  ``input.grad.abs().amax(dim=1)``;
* Grad-CAM: a ``register_forward_hook`` keeps the last conv block's activations and a
  ``register_full_backward_hook`` its output gradients (a ``tensor.register_hook`` on the
  same activations and ``retain_grad()`` are checked against it); the channel weights are
  ``gradients.mean(dim=(2, 3), keepdim=True)``, the map ``F.relu`` of the weighted sum,
  ``F.interpolate(mode="bilinear", align_corners=False)`` back to the input's size; the
  hook handles are ``.remove()``'d after;
* integrated gradients along ``torch.linspace`` alphas from a black baseline by
  ``torch.autograd.grad``, with the completeness gap (attributions' sum minus the score
  difference).

The heat maps are summarised by how much of their mass falls on the shape.

    python tests/pytorch_programs/tutorials/grad_cam.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

side, n_classes = 16, 3


def make_image(label):
    img = np.zeros((3, side, side), dtype=np.float32)
    shape = np.zeros((side, side), dtype=bool)
    r, c = rng.integers(1, side - 7, size=2)
    if label == 0:
        shape[r:r + 5, c:c + 5] = True
    elif label == 1:
        shape[r:r + 6, c:c + 6] = True
        shape[r + 1:r + 5, c + 1:c + 5] = False
    else:
        shape[r + 2, c:c + 6] = True
        shape[r:r + 6, c + 2] = True
    colour = rng.uniform(0.5, 1.0, size=3).astype(np.float32)
    img[:, shape] = colour[:, None]
    return img, shape


def make_set(count):
    labels = np.arange(count) % n_classes
    images, masks = zip(*(make_image(y) for y in labels))
    x = torch.from_numpy(np.stack(images))
    return x + 0.15 * torch.randn_like(x), torch.from_numpy(labels), \
        torch.from_numpy(np.stack(masks))


train_x, train_y, _ = make_set(384)
test_x, test_y, test_masks = make_set(96)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(32, n_classes)

    def forward(self, x):
        features = self.block2(self.block1(x))
        return self.head(features.mean(dim=(2, 3)))


model = SmallCNN().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
for epoch in range(1, 6):
    model.train()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        test_loss = F.cross_entropy(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    print(f'epoch {epoch} | test loss {test_loss:.4f} | accuracy {accuracy:.3f}')

images = test_x[:12].to(device)
masks = test_masks[:12].to(device).float()
targets = test_y[:12].to(device)


def mass_on_shape(heat):
    """the fraction of each map's mass on the shape's pixels, averaged over the images"""
    heat = heat / heat.sum(dim=(1, 2), keepdim=True).clamp(min=1e-12)
    return (heat * masks).sum(dim=(1, 2)).mean().item()


# saliency: |d score / d input|, the largest over the colour channels
model.zero_grad()
inputs = images.clone().requires_grad_()
scores = model(inputs).gather(1, targets[:, None]).sum()
scores.backward()
saliency = inputs.grad.abs().amax(dim=1)
print(f'saliency {tuple(saliency.shape)} | max {saliency.max().item():.4f} | '
      f'mass on shape {mass_on_shape(saliency):.3f} (shape covers '
      f'{masks.mean().item():.3f})')

# Grad-CAM on block2's output
store = {}


def forward_hook(module, args, output):
    store['activations'] = output.detach()
    output.register_hook(lambda grad: store.__setitem__('tensor_hook', grad))


def backward_hook(module, grad_input, grad_output):
    store['gradients'] = grad_output[0].detach()


handles = [model.block2.register_forward_hook(forward_hook),
           model.block2.register_full_backward_hook(backward_hook)]
model.zero_grad()
features = model.block2(model.block1(images))
features.retain_grad()
logits = model.head(features.mean(dim=(2, 3)))
logits.gather(1, targets[:, None]).sum().backward()
print(f'hooked activations {tuple(store["activations"].shape)}, gradients '
      f'{tuple(store["gradients"].shape)}')
print(f'backward hook == tensor hook == retain_grad: '
      f'{torch.allclose(store["gradients"], store["tensor_hook"])} '
      f'{torch.allclose(store["gradients"], features.grad)}')

weights = store['gradients'].mean(dim=(2, 3), keepdim=True)
cam = F.relu((weights * store['activations']).sum(dim=1, keepdim=True))
cam = F.interpolate(cam, size=images.shape[-2:], mode='bilinear', align_corners=False)[:, 0]
cam = cam / cam.amax(dim=(1, 2), keepdim=True).clamp(min=1e-12)
print(f'grad-cam {tuple(cam.shape)} | mean {cam.mean().item():.4f} | '
      f'mass on shape {mass_on_shape(cam):.3f}')
for handle in handles:
    handle.remove()
store.clear()
model(images)
print(f'hooks removed: {store == {}}')

# integrated gradients from a black image, 32 steps (a Riemann sum at the midpoints)
baseline = torch.zeros_like(images)
alphas = torch.linspace(0, 1, 33, device=device)
alphas = (alphas[1:] + alphas[:-1]) / 2
total = torch.zeros_like(images)
for alpha in alphas:
    point = (baseline + alpha * (images - baseline)).requires_grad_()
    score = model(point).gather(1, targets[:, None]).sum()
    grad, = torch.autograd.grad(score, point)
    total += grad
attributions = (images - baseline) * total / len(alphas)
with torch.no_grad():
    difference = (model(images) - model(baseline)).gather(1, targets[:, None]).sum()
print(f'integrated gradients mass on shape '
      f'{mass_on_shape(attributions.abs().sum(dim=1)):.3f}')
print(f'integrated gradients | attribution sum {attributions.sum().item():.4f} | score '
      f'difference {difference.item():.4f}')
gap = (attributions.sum() - difference).abs().item()
print(f'completeness gap {gap:.4f} ({gap / difference.abs().item():.2%} of the difference)')
