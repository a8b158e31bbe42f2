"""FixMatch (Sohn et al., 2020, "FixMatch: Simplifying Semi-Supervised Learning with
Consistency and Confidence"), written for the xpnn tests after the paper's algorithm, on
made-up 12x12 images of four shapes with 8 labels per class and 640 unlabeled images.

Weak augmentation flips half the images left-right (``torch.flip`` picked by ``torch.rand``
through ``torch.where``) and shifts the batch by up to 2 pixels (``torch.roll`` by
``torch.randint`` shifts); strong augmentation adds Gaussian noise (``torch.randn_like``)
and erases a random 5x5 square of each image by slice assignment. The pseudo-labels are the
argmax of ``softmax(weak logits).detach()`` where its max passes the threshold 0.9; the
unlabeled loss is ``(F.cross_entropy(strong logits, pseudo, reduction="none") * mask).mean()``
beside the supervised cross-entropy on weakly augmented labeled images. An EMA of the model
is kept by ``torch.optim.swa_utils.AveragedModel`` with a hand-written ``avg_fn`` and,
beside it, one with ``get_ema_multi_avg_fn`` at the same decay (the two must agree). SGD with
Nesterov momentum; per epoch the losses, the mask rate and pseudo-label accuracy, and the
test accuracy of the model and of the EMA are printed.

    python tests/pytorch_programs/tutorials/fixmatch_semisupervised.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(12)
rng = np.random.default_rng(12)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

S, N_CLASSES, THRESHOLD, LAMBDA_U, DECAY = 12, 4, 0.9, 1.0, 0.9


def make_images(count):
    """A horizontal bar, a vertical bar, a plus or a hollow square, each left-right
    symmetric, at a random place, under noise."""
    labels = np.arange(count) % N_CLASSES
    rng.shuffle(labels)
    x = 0.25 * rng.standard_normal((count, 1, S, S))
    for i, label in enumerate(labels):
        r, c = rng.integers(3, S - 3, 2)
        if label == 0:
            x[i, 0, r, 1:S - 1] += 1.0
        elif label == 1:
            x[i, 0, 1:S - 1, c] += 1.0
        elif label == 2:
            x[i, 0, r, c - 2:c + 3] += 1.0
            x[i, 0, r - 2:r + 3, c] += 1.0
        else:
            x[i, 0, r - 2:r + 3, c - 2] += 1.0
            x[i, 0, r - 2:r + 3, c + 2] += 1.0
            x[i, 0, r - 2, c - 2:c + 3] += 1.0
            x[i, 0, r + 2, c - 2:c + 3] += 1.0
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels)


def weak_augment(x):
    flip = torch.rand(x.shape[0], device=x.device) < 0.5
    x = torch.where(flip[:, None, None, None], torch.flip(x, dims=[3]), x)
    dy, dx = torch.randint(-2, 3, (2,)).tolist()
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def strong_augment(x, size=5):
    x = weak_augment(x) + 0.3 * torch.randn_like(x)
    x = x.clone()
    corners = torch.randint(0, S - size + 1, (x.shape[0], 2)).tolist()
    for i, (r, c) in enumerate(corners):
        x[i, :, r:r + size, c:c + size] = 0.0
    return x


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32),
                                  nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(32, N_CLASSES)

    def forward(self, x):
        return self.head(self.body(x).flatten(1))


labeled_x, labeled_y = make_images(8 * N_CLASSES)
unlabeled_x, unlabeled_y = make_images(640)   # the labels only score the pseudo-labels
test_x, test_y = make_images(400)
print(f'labeled {tuple(labeled_x.shape)}, unlabeled {tuple(unlabeled_x.shape)}, '
      f'test {tuple(test_x.shape)}')

# the augmentations on a known image: flip and roll move pixels, erasing zeroes a square
img = torch.arange(S * S, dtype=torch.float32).view(1, 1, S, S)
print(f'flip: {torch.flip(img, dims=[3])[0, 0, 0, :3].tolist()} | roll (1, 2): '
      f'{torch.roll(img, shifts=(1, 2), dims=(2, 3))[0, 0, 1, :3].tolist()} | '
      f'roll keeps the sum: {torch.roll(img, (1, 2), (2, 3)).sum().item() == img.sum().item()}')

model = ConvNet().to(device)


def evaluate(net):
    net.eval()
    with torch.no_grad():
        logits = net(test_x.to(device))
        loss = F.cross_entropy(logits, test_y.to(device)).item()
        correct = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    net.train()
    return loss, correct


loss, acc = evaluate(model)
print(f'untrained | test loss {loss:.4f} | accuracy {acc:.3f}')
ema = AveragedModel(model, avg_fn=lambda avg, p, n: DECAY * avg + (1 - DECAY) * p,
                    use_buffers=True)
ema_multi = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(DECAY), use_buffers=True)
optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, nesterov=True,
                            weight_decay=5e-4)
labeled = DataLoader(TensorDataset(labeled_x, labeled_y), batch_size=16, shuffle=True)
unlabeled = DataLoader(TensorDataset(unlabeled_x, unlabeled_y), batch_size=64, shuffle=True)

for epoch in range(1, 9):
    sup_total = unsup_total = mask_total = right_total = 0.0
    labeled_iter = iter(labeled)
    for u_x, u_y in unlabeled:
        try:
            x, y = next(labeled_iter)
        except StopIteration:
            labeled_iter = iter(labeled)
            x, y = next(labeled_iter)
        x, y, u_x, u_y = x.to(device), y.to(device), u_x.to(device), u_y.to(device)
        # one forward over the three batches, as the reference code interleaves them
        inputs = torch.cat([weak_augment(x), weak_augment(u_x), strong_augment(u_x)])
        logits = model(inputs)
        logits_x = logits[:len(x)]
        logits_weak, logits_strong = logits[len(x):].chunk(2)
        probs = torch.softmax(logits_weak.detach(), dim=1)
        max_probs, pseudo = torch.max(probs, dim=1)
        mask = max_probs.ge(THRESHOLD).float()
        sup = F.cross_entropy(logits_x, y)
        unsup = (F.cross_entropy(logits_strong, pseudo, reduction="none") * mask).mean()
        loss = sup + LAMBDA_U * unsup
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update_parameters(model)
        ema_multi.update_parameters(model)
        sup_total += sup.item()
        unsup_total += unsup.item()
        mask_total += mask.mean().item()
        right_total += ((pseudo == u_y).float() * mask).sum().item()
    n = len(unlabeled)
    masked = max(mask_total * 64, 1.0)
    loss, acc = evaluate(model)
    ema_loss, ema_acc = evaluate(ema)
    print(f'epoch {epoch} | sup {sup_total / n:.4f} | unsup {unsup_total / n:.4f} | mask rate '
          f'{mask_total / n:.3f} | pseudo-label accuracy {right_total / masked:.3f} | test '
          f'loss {loss:.4f} | accuracy {acc:.3f} | EMA test loss {ema_loss:.4f} | accuracy '
          f'{ema_acc:.3f}')

same = all(torch.allclose(a, b, atol=1e-6) for a, b in
           zip(ema.module.state_dict().values(), ema_multi.module.state_dict().values()))
print(f'EMA by avg_fn and by get_ema_multi_avg_fn agree: {same} | updates '
      f'{ema.n_averaged.item()}')
