"""A tiny RetinaNet (Lin et al., 2017, "Focal Loss for Dense Object Detection"), written for
the xpnn tests after the paper's design, on made-up images of red and green boxes.

A three-stage conv backbone feeds a two-level feature pyramid: 1x1 lateral convs, the coarse
level brought up by ``F.interpolate(mode="nearest")`` and summed, 3x3 smoothing convs. Anchors
(three aspect ratios per cell) are laid on each level from ``torch.meshgrid(...,
indexing="ij")``. Each image's anchors are matched to its boxes by an IoU matrix computed by
broadcasting, ``max(dim=1)`` giving each anchor its best box (positive at IoU >= 0.5,
ignored between 0.4 and 0.5) and ``max(dim=0)`` making every box's best anchor positive. The
classification head (bias at -log((1 - pi) / pi)) is trained by the sigmoid focal loss
written by hand on ``F.binary_cross_entropy_with_logits(reduction="none")`` and ``pow``, the
box head by ``F.smooth_l1_loss(beta=1/9)`` on encoded offsets, both normalised by the number of
positives. Detection decodes the ``torch.topk`` scores, then runs a class-aware (batched) NMS
written by hand: boxes offset per class, a greedy loop over ``argsort``. Precision and recall
at IoU 0.5 on held-out images.

    python tests/pytorch_programs/tutorials/retinanet_focal.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

SIZE, NUM_CLASSES = 32, 2


def make_images(count):
    """Images with one to three boxes each, red (class 0) or green (class 1), on noise."""
    out = []
    for _ in range(count):
        img = 0.2 * rng.standard_normal((3, SIZE, SIZE)).astype(np.float32)
        boxes, labels = [], []
        for _ in range(rng.integers(1, 4)):
            w, h = rng.integers(6, 15, 2)
            x0, y0 = rng.integers(0, SIZE - w + 1), rng.integers(0, SIZE - h + 1)
            cls = int(rng.integers(0, NUM_CLASSES))
            img[cls, y0:y0 + h, x0:x0 + w] += 1.0
            img[2, y0:y0 + h, x0:x0 + w] += 0.5
            boxes.append([x0, y0, x0 + w, y0 + h])
            labels.append(cls)
        out.append((torch.from_numpy(img), torch.tensor(boxes, dtype=torch.float32),
                    torch.tensor(labels)))
    return out


def collate(batch):
    images = torch.stack([b[0] for b in batch])
    return images, [b[1] for b in batch], [b[2] for b in batch]


def box_iou(a, b):
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), by broadcasting."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def make_anchors(sizes, strides, ratios=(0.5, 1.0, 2.0)):
    """Anchors (x0, y0, x1, y1) of every level, row-major over cells, ratios innermost."""
    all_anchors = []
    for size, stride in zip(sizes, strides):
        n = SIZE // stride
        ys, xs = torch.meshgrid(torch.arange(n, dtype=torch.float32),
                                torch.arange(n, dtype=torch.float32), indexing='ij')
        centers = torch.stack([xs, ys], dim=-1).reshape(-1, 1, 2) * stride + stride / 2
        r = torch.tensor(ratios)
        half = torch.stack([size / torch.sqrt(r), size * torch.sqrt(r)], dim=-1) / 2
        anchors = torch.cat([centers - half, centers + half], dim=-1)
        all_anchors.append(anchors.reshape(-1, 4))
    return torch.cat(all_anchors)


def encode(boxes, anchors):
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + aw / 2, anchors[:, 1] + ah / 2
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    bx, by = boxes[:, 0] + bw / 2, boxes[:, 1] + bh / 2
    return torch.stack([(bx - ax) / aw, (by - ay) / ah, torch.log(bw / aw),
                        torch.log(bh / ah)], dim=1)


def decode(deltas, anchors):
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + aw / 2, anchors[:, 1] + ah / 2
    cx, cy = ax + deltas[:, 0] * aw, ay + deltas[:, 1] * ah
    w = aw * torch.exp(deltas[:, 2].clamp(max=math.log(1000 / 16)))
    h = ah * torch.exp(deltas[:, 3].clamp(max=math.log(1000 / 16)))
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)


class RetinaNet(nn.Module):
    def __init__(self, num_anchors=3, width=32, prior=0.01):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU())
        self.c3 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.c4 = nn.Sequential(nn.Conv2d(32, 48, 3, stride=2, padding=1), nn.ReLU())
        self.lat3, self.lat4 = nn.Conv2d(32, width, 1), nn.Conv2d(48, width, 1)
        self.smooth3 = nn.Conv2d(width, width, 3, padding=1)
        self.smooth4 = nn.Conv2d(width, width, 3, padding=1)
        self.cls_tower = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
        self.box_tower = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
        self.cls_out = nn.Conv2d(width, num_anchors * NUM_CLASSES, 3, padding=1)
        self.box_out = nn.Conv2d(width, num_anchors * 4, 3, padding=1)
        nn.init.normal_(self.cls_out.weight, std=0.01)
        nn.init.constant_(self.cls_out.bias, -math.log((1 - prior) / prior))
        nn.init.normal_(self.box_out.weight, std=0.01)
        nn.init.zeros_(self.box_out.bias)

    def forward(self, x):
        c3 = self.c3(self.stem(x))
        c4 = self.c4(c3)
        p4 = self.lat4(c4)
        p3 = self.lat3(c3) + F.interpolate(p4, size=c3.shape[-2:], mode='nearest')
        logits, deltas = [], []
        for p in (self.smooth3(p3), self.smooth4(p4)):
            n = p.shape[0]
            # (N, A*K, H, W) -> (N, H*W*A, K): cells row-major, anchors innermost
            logits.append(self.cls_out(self.cls_tower(p)).permute(0, 2, 3, 1)
                          .reshape(n, -1, NUM_CLASSES))
            deltas.append(self.box_out(self.box_tower(p)).permute(0, 2, 3, 1).reshape(n, -1, 4))
        return torch.cat(logits, dim=1), torch.cat(deltas, dim=1)


def match(anchors, boxes, fg=0.5, bg=0.4):
    """Each anchor's box index, -1 for background and -2 for ignored."""
    iou = box_iou(anchors, boxes)
    best_iou, best_box = iou.max(dim=1)
    matched = best_box.clone()
    matched[best_iou < fg] = -2
    matched[best_iou < bg] = -1
    best_anchor = iou.max(dim=0).indices
    matched[best_anchor] = torch.arange(len(boxes))
    return matched


def sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * ce * (1 - p_t).pow(gamma)


def detection_loss(logits, deltas, anchors, boxes_list, labels_list):
    cls_total, box_total, num_pos = 0.0, 0.0, 0
    for logit, delta, boxes, labels in zip(logits, deltas, boxes_list, labels_list):
        matched = match(anchors, boxes)
        pos = matched >= 0
        valid = matched >= -1
        target = torch.zeros_like(logit)
        target[pos, labels[matched[pos]]] = 1.0
        cls_total = cls_total + sigmoid_focal_loss(logit[valid], target[valid]).sum()
        reg_target = encode(boxes[matched[pos]], anchors[pos])
        box_total = box_total + F.smooth_l1_loss(delta[pos], reg_target, beta=1 / 9,
                                                 reduction='sum')
        num_pos += int(pos.sum())
    num_pos = max(num_pos, 1)
    return cls_total / num_pos, box_total / num_pos


def batched_nms(boxes, scores, classes, iou_threshold=0.5):
    """Greedy NMS per class at once: boxes of different classes are moved apart so that they
    never overlap."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    offset = classes.to(boxes.dtype)[:, None] * (boxes.max() + 1)
    shifted = boxes + offset
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(int(i))
        if order.numel() == 1:
            break
        ious = box_iou(shifted[i].unsqueeze(0), shifted[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return torch.tensor(keep, dtype=torch.long)


@torch.no_grad()
def detect(model, images, anchors, score_threshold=0.2, k=50):
    model.eval()
    logits, deltas = model(images)
    model.train()
    results = []
    for logit, delta in zip(logits, deltas):
        scores, idx = torch.sigmoid(logit).flatten().topk(k)
        anchor_idx, classes = idx // NUM_CLASSES, idx % NUM_CLASSES
        keep = scores > score_threshold
        scores, anchor_idx, classes = scores[keep], anchor_idx[keep], classes[keep]
        boxes = decode(delta[anchor_idx], anchors[anchor_idx]).clamp(0, SIZE)
        kept = batched_nms(boxes, scores, classes)
        results.append((boxes[kept], scores[kept], classes[kept]))
    return results


def precision_recall(results, data):
    tp = fp = total = 0
    for (boxes, scores, classes), (_, gt_boxes, gt_labels) in zip(results, data):
        total += len(gt_boxes)
        used = torch.zeros(len(gt_boxes), dtype=torch.bool)
        for b, c in zip(boxes, classes):
            iou = box_iou(b.unsqueeze(0), gt_boxes)[0]
            iou[(gt_labels != c) | used] = 0
            best = iou.argmax()
            if iou[best] >= 0.5:
                used[best] = True
                tp += 1
            else:
                fp += 1
    return tp / max(tp + fp, 1), tp / total


train = make_images(192)
test = make_images(48)
anchors = make_anchors(sizes=(8.0, 16.0), strides=(4, 8)).to(device)
print(f'anchors {tuple(anchors.shape)}, first {anchors[0].tolist()}')
loader = DataLoader(train, batch_size=16, shuffle=True, collate_fn=collate)
test_images = torch.stack([t[0] for t in test]).to(device)

model = RetinaNet().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(10):
    cls_sum = box_sum = 0.0
    for images, boxes, labels in loader:
        logits, deltas = model(images.to(device))
        cls_loss, box_loss = detection_loss(logits, deltas, anchors, boxes, labels)
        loss = cls_loss + box_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        cls_sum += cls_loss.item()
        box_sum += box_loss.item()
    with torch.no_grad():
        logits, deltas = model(test_images)
        test_cls, test_box = detection_loss(logits, deltas, anchors,
                                            [t[1] for t in test], [t[2] for t in test])
    precision, recall = precision_recall(detect(model, test_images, anchors), test)
    print(f'epoch {epoch} | focal {cls_sum / len(loader):.4f} | smooth l1 '
          f'{box_sum / len(loader):.4f} | test loss {(test_cls + test_box).item():.4f} | '
          f'precision {precision:.3f} recall {recall:.3f}')

boxes, scores, classes = detect(model, test_images[:1], anchors)[0]
print('first test image, truth:', test[0][1].tolist(), test[0][2].tolist())
print('detections:', [[round(v, 1) for v in b] for b in boxes.tolist()], classes.tolist())
