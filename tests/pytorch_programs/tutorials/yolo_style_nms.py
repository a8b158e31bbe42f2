"""Anchor-free detection in the style of FCOS / YOLOX heads, written for the xpnn tests on
made-up images of bright rectangles in two classes (horizontal and vertical bars).

A small conv backbone makes a stride-4 and a stride-8 map; the coarse one is brought up by
``F.interpolate(scale_factor=2, mode="nearest")`` and added to the fine one (an FPN-like
fusion). The head predicts per cell class logits, box distances (l, t, r, b) through
``F.relu`` and a centerness logit. Targets: a cell is positive when its centre lies inside a
box (the smallest such box). Losses: a focal loss written on
``F.binary_cross_entropy_with_logits(reduction="none")`` with alpha and gamma, a GIoU loss on
the positive cells (``torch.max`` / ``torch.min`` of corners), and a centerness BCE.

Detection: scores = sqrt(sigmoid(cls) * sigmoid(ctr)) above a threshold, then a batched
class-aware "fast NMS" by hand: ``torch.sort(descending=True)``, an IoU matrix by
broadcasting, ``torch.triu(diagonal=1)``, ``masked_fill`` across classes and
``(iou > thr).any(dim=0)``. mAP@0.5 by sorting all detections by score, greedy matching,
``cumsum`` precision / recall and the precision envelope by ``flip`` + ``cummax``.

    python tests/pytorch_programs/tutorials/yolo_style_nms.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

S, STRIDE, C = 32, 4, 2
G = S // STRIDE


def make_images(count):
    """Images with 1 or 2 bars: class 0 wide, class 1 tall; boxes as (x0, y0, x1, y1)."""
    images = rng.normal(0.0, 0.1, (count, 1, S, S)).astype(np.float32)
    boxes, labels = [], []
    for i in range(count):
        bs, ls = [], []
        for _ in range(rng.integers(1, 3)):
            cls = int(rng.integers(0, C))
            long, short = int(rng.integers(12, 20)), int(rng.integers(5, 8))
            w, h = (long, short) if cls == 0 else (short, long)
            x0, y0 = int(rng.integers(0, S - w)), int(rng.integers(0, S - h))
            images[i, 0, y0:y0 + h, x0:x0 + w] += 1.0
            bs.append([x0, y0, x0 + w, y0 + h])
            ls.append(cls)
        boxes.append(torch.tensor(bs, dtype=torch.float32))
        labels.append(torch.tensor(ls))
    return torch.from_numpy(images), boxes, labels


ys, xs = torch.meshgrid(torch.arange(G), torch.arange(G), indexing='ij')
centers = torch.stack([xs, ys], dim=-1).reshape(-1, 2).float() * STRIDE + STRIDE / 2


def make_targets(boxes, labels):
    """Per cell: class one-hot (zeros for background), ltrb distances and centerness."""
    n = centers.shape[0]
    cls_t = torch.zeros(n, C)
    ltrb = torch.zeros(n, 4)
    pos = torch.zeros(n, dtype=torch.bool)
    cx, cy = centers[:, 0:1], centers[:, 1:2]
    d = torch.cat([cx - boxes[:, 0], cy - boxes[:, 1], boxes[:, 2] - cx, boxes[:, 3] - cy],
                  dim=1).reshape(n, 4, -1).permute(0, 2, 1)           # (cells, boxes, 4)
    inside = d.min(dim=-1).values > 0
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand(n, -1)
    area = area.masked_fill(~inside, float('inf'))
    best_area, best = area.min(dim=1)
    pos = torch.isfinite(best_area)
    cls_t[pos, labels[best[pos]]] = 1.0
    ltrb[pos] = d[pos, best[pos]]
    lr, tb = ltrb[:, [0, 2]], ltrb[:, [1, 3]]
    ctr = torch.sqrt((lr.min(-1).values / lr.max(-1).values.clamp(min=1e-6))
                     * (tb.min(-1).values / tb.max(-1).values.clamp(min=1e-6)))
    return cls_t, ltrb, ctr * pos, pos


def conv_block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.ReLU())


class Detector(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.stem = nn.Sequential(conv_block(1, width, 2), conv_block(width, width, 2))
        self.down = conv_block(width, 2 * width, 2)
        self.lateral = nn.Conv2d(2 * width, width, 1)
        self.head = conv_block(width, width, 1)
        self.cls = nn.Conv2d(width, C, 3, padding=1)
        self.box = nn.Conv2d(width, 4, 3, padding=1)
        self.ctr = nn.Conv2d(width, 1, 3, padding=1)
        nn.init.constant_(self.cls.bias, -2.0)

    def forward(self, x):
        fine = self.stem(x)                                   # stride 4
        coarse = self.lateral(self.down(fine))                # stride 8
        fused = self.head(fine + F.interpolate(coarse, scale_factor=2, mode='nearest'))
        flat = lambda t: t.flatten(2).transpose(1, 2)        # (B, cells, k)
        box = F.relu(self.box(fused)) * STRIDE
        return flat(self.cls(fused)), flat(box), flat(self.ctr(fused)).squeeze(-1)


def ltrb_to_xyxy(ltrb):
    return torch.cat([centers - ltrb[..., :2], centers + ltrb[..., 2:]], dim=-1)


def giou_loss(p, t):
    """1 - GIoU of corner boxes (N, 4)."""
    lt, rb = torch.max(p[:, :2], t[:, :2]), torch.min(p[:, 2:], t[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_p = (p[:, 2:] - p[:, :2]).clamp(min=0).prod(-1)
    area_t = (t[:, 2:] - t[:, :2]).prod(-1)
    union = area_p + area_t - inter
    iou = inter / union.clamp(min=1e-6)
    hull = (torch.max(p[:, 2:], t[:, 2:]) - torch.min(p[:, :2], t[:, :2])).prod(-1)
    return 1 - (iou - (hull - union) / hull.clamp(min=1e-6))


def focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * ce * (1 - p_t) ** gamma


def box_iou(a, b):
    """IoU matrix (len(a), len(b)) by broadcasting."""
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda x: (x[:, 2:] - x[:, :2]).clamp(min=0).prod(-1)
    return inter / (area(a)[:, None] + area(b)[None, :] - inter).clamp(min=1e-6)


def fast_nms(boxes, scores, classes, iou_thr=0.5):
    """Keep the boxes no higher-scoring box of their class overlaps above iou_thr."""
    scores, order = torch.sort(scores, descending=True)
    boxes, classes = boxes[order], classes[order]
    iou = torch.triu(box_iou(boxes, boxes), diagonal=1)
    iou = iou.masked_fill(classes[:, None] != classes[None, :], 0.0)
    keep = ~(iou > iou_thr).any(dim=0)
    return boxes[keep], scores[keep], classes[keep]


def detect(model, images, score_thr=0.3):
    cls, box, ctr = model(images)
    scores_all = torch.sqrt(torch.sigmoid(cls) * torch.sigmoid(ctr)[..., None])
    out = []
    for i in range(images.shape[0]):
        score, cls_i = scores_all[i].max(dim=-1)
        mask = score > score_thr
        out.append(fast_nms(ltrb_to_xyxy(box[i])[mask], score[mask], cls_i[mask]))
    return out


def mean_ap(dets, boxes, labels, iou_thr=0.5):
    aps = []
    for c in range(C):
        records, n_gt = [], 0
        for i, (b, s, k) in enumerate(dets):
            n_gt += int((labels[i] == c).sum())
            for j in torch.nonzero(k == c).flatten().tolist():
                records.append((s[j], i, b[j]))
        if not records:
            aps.append(0.0)
            continue
        scores = torch.stack([r[0] for r in records])
        order = torch.argsort(scores, descending=True)
        used = [torch.zeros(len(labels[i]), dtype=torch.bool) for i in range(len(labels))]
        tp = torch.zeros(len(records))
        for rank, idx in enumerate(order.tolist()):
            _, i, b = records[idx]
            gt = boxes[i]
            iou = box_iou(b[None], gt)[0].masked_fill((labels[i] != c) | used[i], -1.0)
            best, j = iou.max(dim=0)
            if best >= iou_thr:
                tp[rank] = 1.0
                used[i][j] = True
        ctp, cfp = torch.cumsum(tp, 0), torch.cumsum(1 - tp, 0)
        recall = ctp / max(n_gt, 1)
        precision = ctp / (ctp + cfp)
        envelope = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
        steps = torch.cat([recall[:1], recall[1:] - recall[:-1]])
        aps.append((steps * envelope).sum().item())
    return sum(aps) / C


train_x, train_boxes, train_labels = make_images(128)
test_x, test_boxes, test_labels = make_images(48)
train_t = [make_targets(b, l) for b, l in zip(train_boxes, train_labels)]
print(f'grid {G}x{G}, positive cells in image 0: {int(train_t[0][3].sum())}, '
      f'centerness max {train_t[0][2].max():.3f}')

model = Detector().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
batch = 16

model.eval()
with torch.no_grad():
    print(f'untrained | mAP@0.5 {mean_ap(detect(model, test_x), test_boxes, test_labels):.4f}')

for epoch in range(1, 7):
    model.train()
    order = rng.permutation(len(train_x))
    totals = np.zeros(3)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch].tolist()
        x = train_x[idx].to(device)
        cls_t = torch.stack([train_t[i][0] for i in idx])
        ltrb_t = torch.stack([train_t[i][1] for i in idx])
        ctr_t = torch.stack([train_t[i][2] for i in idx])
        pos = torch.stack([train_t[i][3] for i in idx])
        cls, box, ctr = model(x)
        n_pos = max(int(pos.sum()), 1)
        l_cls = focal_loss(cls, cls_t).sum() / n_pos
        pred_xyxy = ltrb_to_xyxy(box)[pos]
        true_xyxy = ltrb_to_xyxy(ltrb_t)[pos]
        l_box = giou_loss(pred_xyxy, true_xyxy).mean()
        l_ctr = F.binary_cross_entropy_with_logits(ctr[pos], ctr_t[pos])
        loss = l_cls + l_box + l_ctr
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals += [l_cls.item(), l_box.item(), l_ctr.item()]
    totals /= len(order) // batch
    model.eval()
    with torch.no_grad():
        dets = detect(model, test_x)
        m = mean_ap(dets, test_boxes, test_labels)
        kept = sum(len(d[1]) for d in dets)
    print(f'epoch {epoch} | focal {totals[0]:.4f} | giou {totals[1]:.4f} | '
          f'centerness {totals[2]:.4f} | detections {kept} | mAP@0.5 {m:.4f}')
