"""DINO self-distillation (Caron et al., 2021, "Emerging Properties in Self-Supervised Vision
Transformers"), written for the xpnn tests after the paper's recipe, on made-up images.

A tiny ViT (a patch-embedding ``nn.Conv2d``, a class token, learned position embeddings
resized for small crops by ``F.interpolate(mode="bilinear", antialias=False)``, two
``nn.TransformerEncoderLayer(norm_first=True)``) feeds a DINO head: an MLP, ``F.normalize``
and a last layer under ``torch.nn.utils.parametrizations.weight_norm`` whose magnitude is
filled with ones and frozen. The teacher is a ``copy.deepcopy`` of the student with
``requires_grad_(False)``, moved by an EMA (``mul_``/``add_`` under ``torch.no_grad``) whose
momentum follows a cosine schedule from 0.99 to 1. Each image gives two global views and four
local views, cut by slicing, brought to size by ``F.interpolate(mode="bilinear")`` and
mirrored by ``torch.flip``; the teacher sees the global views only. The loss is the
cross-entropy between the teacher's centred, sharpened softmax (temperature 0.04, the centre a
``register_buffer`` updated by an EMA under ``torch.no_grad``) and the student's
log_softmax at temperature 0.1, over every pair of different views. AdamW,
``clip_grad_norm_``, and the last layer frozen for the first epoch by setting its ``.grad``
to None after backward. A k-nearest-neighbour probe on the teacher's class tokens reports
how well the features separate the four image kinds.

    python tests/pytorch_programs/tutorials/dino_self_distillation.py
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

SIZE, GLOBAL, LOCAL, PATCH = 32, 32, 16, 8


def make_images(count):
    """Four kinds of picture: horizontal stripes, vertical stripes, a blob, a checkerboard,
    at random phases and colours, with noise."""
    yy, xx = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing='ij')
    images = np.empty((count, 3, SIZE, SIZE), dtype=np.float32)
    labels = rng.integers(0, 4, count)
    for i, kind in enumerate(labels):
        phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.6)
        if kind == 0:
            base = np.sin(freq * yy + phase)
        elif kind == 1:
            base = np.sin(freq * xx + phase)
        elif kind == 2:
            cy, cx = rng.uniform(8, 24, 2)
            base = 2 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 40.0) - 1
        else:
            base = np.sign(np.sin(freq * yy + phase) * np.sin(freq * xx + phase))
        colour = rng.uniform(0.5, 1.0, 3)
        images[i] = colour[:, None, None] * base + 0.3 * rng.standard_normal((3, SIZE, SIZE))
    return torch.from_numpy(images), torch.from_numpy(labels)


def crops(images, count, lo, hi, out):
    """``count`` views per image: a random square of side in [lo, hi] cut by slicing,
    resized to ``out`` by bilinear interpolation, mirrored half of the time."""
    views = []
    for _ in range(count):
        batch = []
        for img in images:
            side = int(rng.integers(lo, hi + 1))
            top, left = rng.integers(0, SIZE - side + 1, 2)
            view = img[:, top:top + side, left:left + side].unsqueeze(0)
            view = F.interpolate(view, size=(out, out), mode='bilinear', align_corners=False,
                                 antialias=False)
            if rng.random() < 0.5:
                view = torch.flip(view, dims=[-1])
            batch.append(view)
        views.append(torch.cat(batch))
    return views


class TinyViT(nn.Module):
    def __init__(self, dim=32, depth=2, heads=4):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, PATCH, stride=PATCH)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.grid = GLOBAL // PATCH
        self.pos = nn.Parameter(torch.zeros(1, 1 + self.grid ** 2, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, activation='gelu',
                                       batch_first=True, norm_first=True)
            for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def pos_for(self, side):
        """The patch position embeddings resized to a side x side grid (DINO's
        interpolate_pos_encoding for the small crops)."""
        if side == self.grid:
            return self.pos
        cls_pos, patch_pos = self.pos[:, :1], self.pos[:, 1:]
        dim = patch_pos.shape[-1]
        grid = patch_pos.reshape(1, self.grid, self.grid, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(side, side), mode='bilinear', align_corners=False,
                             antialias=False)
        return torch.cat([cls_pos, grid.permute(0, 2, 3, 1).reshape(1, side * side, dim)],
                         dim=1)

    def forward(self, x):
        tokens = self.patch(x)
        side = tokens.shape[-1]
        tokens = tokens.flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        tokens = tokens + self.pos_for(side)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens[:, 0])


class DINOHead(nn.Module):
    def __init__(self, dim, out_dim=64, hidden=64, bottleneck=16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                 nn.GELU(), nn.Linear(hidden, bottleneck))
        self.last_layer = weight_norm(nn.Linear(bottleneck, out_dim, bias=False))
        # DINO's norm_last_layer: the magnitude fixed at one, only the direction learns
        self.last_layer.parametrizations.weight.original0.data.fill_(1)
        self.last_layer.parametrizations.weight.original0.requires_grad = False

    def forward(self, x):
        x = F.normalize(self.mlp(x), dim=-1, p=2)
        return self.last_layer(x)


class MultiCrop(nn.Module):
    """Backbone + head over a list of views: views of one resolution are run together."""

    def __init__(self):
        super().__init__()
        self.backbone = TinyViT()
        self.head = DINOHead(32)

    def forward(self, views):
        if not isinstance(views, list):
            views = [views]
        feats, start = [], 0
        sizes = [v.shape[-1] for v in views]
        while start < len(views):
            end = start
            while end < len(views) and sizes[end] == sizes[start]:
                end += 1
            feats.append(self.backbone(torch.cat(views[start:end])))
            start = end
        return self.head(torch.cat(feats))


class DINOLoss(nn.Module):
    def __init__(self, out_dim, n_views, student_temp=0.1, teacher_temp=0.04,
                 center_momentum=0.9):
        super().__init__()
        self.n_views = n_views
        self.student_temp, self.teacher_temp = student_temp, teacher_temp
        self.center_momentum = center_momentum
        self.register_buffer('center', torch.zeros(1, out_dim))

    def forward(self, student_out, teacher_out):
        student = (student_out / self.student_temp).chunk(self.n_views)
        teacher = F.softmax((teacher_out - self.center) / self.teacher_temp, dim=-1)
        teacher = teacher.detach().chunk(2)
        total, kl, pairs = 0.0, 0.0, 0
        for iq, q in enumerate(teacher):
            for v, s in enumerate(student):
                if v == iq:
                    continue
                log_s = F.log_softmax(s, dim=-1)
                total = total + torch.sum(-q * log_s, dim=-1).mean()
                kl = kl + F.kl_div(log_s, q, reduction='batchmean').detach()
                pairs += 1
        self.update_center(teacher_out)
        self.last_kl = kl / pairs      # the part of the loss the student can remove
        return total / pairs

    @torch.no_grad()
    def update_center(self, teacher_out):
        batch_center = teacher_out.mean(dim=0, keepdim=True)
        self.center = self.center * self.center_momentum + \
            batch_center * (1 - self.center_momentum)


train_x, train_y = make_images(128)
test_x, test_y = make_images(64)

student = MultiCrop().to(device)
with torch.no_grad():
    probe = student(train_x[:2].to(device))
print(f'student output {tuple(probe.shape)}, parameters '
      f'{sum(p.numel() for p in student.parameters() if p.requires_grad)}')
teacher = copy.deepcopy(student)
teacher.requires_grad_(False)
print('parametrized last layer:', [n for n, _ in student.head.last_layer.named_parameters()])

n_local = 4
criterion = DINOLoss(64, 2 + n_local).to(device)
optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad],
                              lr=1e-3, weight_decay=0.04)

epochs, batch = 4, 16
steps_per_epoch = len(train_x) // batch
total_steps = epochs * steps_per_epoch
base_momentum = 0.99


def teacher_momentum(step):
    return 1 - (1 - base_momentum) * (math.cos(math.pi * step / total_steps) + 1) / 2


@torch.no_grad()
def knn_accuracy(model, k=5):
    model.eval()
    bank = F.normalize(model.backbone(train_x.to(device)), dim=1)
    query = F.normalize(model.backbone(test_x.to(device)), dim=1)
    sims = query @ bank.T
    top = sims.topk(k, dim=1).indices
    votes = F.one_hot(train_y.to(device)[top], 4).sum(dim=1)
    model.train()
    return (votes.argmax(dim=1) == test_y.to(device)).float().mean().item()


print(f'kNN accuracy before training: {knn_accuracy(teacher):.3f}')
step = 0
for epoch in range(epochs):
    order = rng.permutation(len(train_x))
    running, kls, norms = 0.0, 0.0, 0.0
    for i in range(steps_per_epoch):
        images = train_x[order[i * batch:(i + 1) * batch]].to(device)
        global_views = crops(images, 2, 20, 32, GLOBAL)
        local_views = crops(images, n_local, 8, 14, LOCAL)
        teacher_out = teacher(global_views)
        student_out = student(global_views + local_views)
        loss = criterion(student_out, teacher_out)
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(student.parameters(), max_norm=3.0)
        if epoch == 0:
            for name, p in student.named_parameters():
                if 'last_layer' in name:
                    p.grad = None
        optimizer.step()
        m = teacher_momentum(step)
        with torch.no_grad():
            for ps, pt in zip(student.parameters(), teacher.parameters()):
                pt.mul_(m).add_((1 - m) * ps.detach())
        step += 1
        running += loss.item()
        kls += criterion.last_kl.item()
        norms += norm.item()
    with torch.no_grad():
        t_probs = F.softmax((teacher(global_views) - criterion.center) / 0.04, dim=-1)
        entropy = -(t_probs * torch.log(t_probs + 1e-12)).sum(-1).mean()
    direction = student.head.last_layer.parametrizations.weight.original1
    print(f'epoch {epoch} | loss {running / steps_per_epoch:.4f} | kl to teacher '
          f'{kls / steps_per_epoch:.4f} | grad norm '
          f'{norms / steps_per_epoch:.4f} | momentum {m:.5f} | teacher entropy '
          f'{entropy.item():.4f} | center norm {criterion.center.norm().item():.4f} | '
          f'last layer row norm {direction.norm(dim=1).mean().item():.4f}')
    print(f'  kNN accuracy teacher {knn_accuracy(teacher):.3f} student '
          f'{knn_accuracy(student):.3f}')
