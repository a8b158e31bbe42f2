"""A tiny single-scale box detector in the manner of YOLO (Redmon et al., 2016, "You Only Look
Once"), written small for the xpnn tests after the usual from-scratch YOLO tutorials: made-up
32x32 images hold one or two rectangles, red or green, on noise.

A small CNN maps an image to a 4x4 grid; each cell predicts an objectness logit, a box
(the centre as a sigmoid offset inside the cell, the width and height as sigmoids of the
image size) and two class logits. Targets are assigned by integer grid indexing: the cell
holding a box's centre (``obj[b, gj, gi] = 1``). The loss: objectness by
``F.binary_cross_entropy_with_logits(pos_weight=...)`` over every cell, and on the assigned
cells only (boolean mask indexing) ``F.smooth_l1_loss`` on the box plus a GIoU loss, and
``F.cross_entropy`` on the class. IoU and GIoU are written with ``torch.max`` /
``torch.min`` broadcasting and ``clamp(min=0)``. Decoding takes ``torch.sigmoid`` scores,
keeps those above a threshold and runs a hand-written non-maximum suppression (``argsort``
descending, a ``while`` loop over a keep mask, ``torch.nonzero(as_tuple=True)``); precision
and recall at IoU 0.5 are printed per epoch.

    python tests/pytorch_programs/tutorials/yolo_mini.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

side, grid, n_classes, max_boxes = 32, 4, 2, 2
cell = side // grid


def make_image():
    """noise plus one or two rectangles whose centres fall in different cells"""
    img = 0.1 * rng.standard_normal((3, side, side)).astype(np.float32)
    boxes = np.zeros((max_boxes, 4), np.float32)
    labels = np.zeros(max_boxes, np.int64)
    valid = np.zeros(max_boxes, bool)
    used = set()
    for k in range(rng.integers(1, max_boxes + 1)):
        while True:
            w, h = rng.integers(6, 13, size=2)
            x0, y0 = rng.integers(0, side - w + 1), rng.integers(0, side - h + 1)
            cx, cy = x0 + w / 2, y0 + h / 2
            key = (int(cy // cell), int(cx // cell))
            if key not in used:
                used.add(key)
                break
        label = rng.integers(0, n_classes)
        img[label, y0:y0 + h, x0:x0 + w] += 1.0
        boxes[k] = (cx / side, cy / side, w / side, h / side)
        labels[k], valid[k] = label, True
    return img, boxes, labels, valid


def make_set(count):
    parts = [make_image() for _ in range(count)]
    return tuple(torch.from_numpy(np.stack(p)) for p in zip(*parts))


train = make_set(320)
test = make_set(48)
print(f'train images {tuple(train[0].shape)}, boxes {int(train[3].sum().item())}, '
      f'test boxes {int(test[3].sum().item())}')
loader = DataLoader(TensorDataset(*train), batch_size=32, shuffle=True)


def xywh_to_xyxy(b):
    return torch.cat([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], dim=-1)


def box_iou(a, b):
    """pairwise IoU of (N, 4) and (M, 4) xyxy boxes: (N, M)"""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def generalized_iou(a, b):
    """GIoU of matching rows of (N, 4) xyxy boxes: (N,)"""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    wh = (torch.min(a[:, 2:], b[:, 2:]) - torch.max(a[:, :2], b[:, :2])).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    union = area_a + area_b - inter
    enclosing = (torch.max(a[:, 2:], b[:, 2:]) - torch.min(a[:, :2], b[:, :2])).clamp(min=0)
    area_c = enclosing[:, 0] * enclosing[:, 1]
    return inter / union - (area_c - union) / area_c


print(f'iou check {box_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 1., 3., 3.], [4., 4., 5., 5.]]))}')


class TinyYolo(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.LeakyReLU(0.1),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.1),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.1),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.LeakyReLU(0.1))
        self.head = nn.Conv2d(32, 5 + n_classes, 1)
        ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing='ij')
        self.register_buffer('offsets', torch.stack([xs, ys], dim=-1).float())

    def forward(self, x):
        out = self.head(self.features(x)).permute(0, 2, 3, 1)  # (N, G, G, 5 + C)
        xy = (torch.sigmoid(out[..., 1:3]) + self.offsets) / grid
        wh = torch.sigmoid(out[..., 3:5])
        return out[..., 0], torch.cat([xy, wh], dim=-1), out[..., 5:]


def assign(boxes, labels, valid):
    """targets on the grid: objectness (N, G, G), boxes (N, G, G, 4), classes (N, G, G)"""
    n = boxes.shape[0]
    b, k = torch.nonzero(valid, as_tuple=True)
    gt = boxes[b, k]
    gi = (gt[:, 0] * grid).long().clamp(0, grid - 1)
    gj = (gt[:, 1] * grid).long().clamp(0, grid - 1)
    obj = torch.zeros(n, grid, grid, device=boxes.device)
    box_t = torch.zeros(n, grid, grid, 4, device=boxes.device)
    cls_t = torch.zeros(n, grid, grid, dtype=torch.long, device=boxes.device)
    obj[b, gj, gi] = 1.0
    box_t[b, gj, gi] = gt
    cls_t[b, gj, gi] = labels[b, k]
    return obj, box_t, cls_t


model = TinyYolo().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
pos_weight = torch.tensor(4.0, device=device)


def detection_loss(images, boxes, labels, valid):
    obj_logit, pred_box, cls_logit = model(images)
    obj, box_t, cls_t = assign(boxes, labels, valid)
    pos = obj.bool()
    obj_loss = F.binary_cross_entropy_with_logits(obj_logit, obj, pos_weight=pos_weight)
    box_loss = F.smooth_l1_loss(pred_box[pos], box_t[pos], beta=0.05)
    giou_loss = (1 - generalized_iou(xywh_to_xyxy(pred_box[pos]),
                                     xywh_to_xyxy(box_t[pos]))).mean()
    cls_loss = F.cross_entropy(cls_logit[pos], cls_t[pos])
    return obj_loss + 5 * box_loss + giou_loss + cls_loss


def nms(boxes, scores, threshold=0.4):
    order = scores.argsort(descending=True)
    boxes = boxes[order]
    keep = torch.ones(len(order), dtype=torch.bool, device=boxes.device)
    i = 0
    while i < len(order):
        if keep[i]:
            ious = box_iou(boxes[i:i + 1], boxes[i + 1:])[0]
            keep[i + 1:] &= ious <= threshold
        i += 1
    return order[torch.nonzero(keep, as_tuple=True)[0]]


def evaluate(images, boxes, labels, valid, score_threshold=0.3):
    model.eval()
    with torch.no_grad():
        obj_logit, pred_box, cls_logit = model(images.to(device))
        scores = torch.sigmoid(obj_logit) * F.softmax(cls_logit, dim=-1).amax(-1)
        classes = cls_logit.argmax(-1)
        loss = detection_loss(images.to(device), boxes.to(device), labels.to(device),
                              valid.to(device)).item()
    model.train()
    tp = n_det = 0
    for n in range(images.shape[0]):
        mask = scores[n] > score_threshold
        det_boxes = xywh_to_xyxy(pred_box[n][mask])
        kept = nms(det_boxes, scores[n][mask])
        det_boxes, det_classes = det_boxes[kept], classes[n][mask][kept]
        gt = xywh_to_xyxy(boxes[n][valid[n]].to(device))
        gt_classes = labels[n][valid[n]].to(device)
        matched = torch.zeros(len(gt), dtype=torch.bool, device=device)
        if len(gt) and len(det_boxes):
            ious = box_iou(det_boxes, gt)
            for d in range(len(det_boxes)):
                ok = (ious[d] >= 0.5) & (gt_classes == det_classes[d]) & ~matched
                if ok.any():
                    matched[ious[d].masked_fill(~ok, -1).argmax()] = True
                    tp += 1
        n_det += len(det_boxes)
    precision = tp / max(n_det, 1)
    recall = tp / int(valid.sum())
    return loss, precision, recall, n_det


loss, precision, recall, n_det = evaluate(*test)
print(f'untrained | test loss {loss:.4f} | detections {n_det} | precision {precision:.3f} | '
      f'recall {recall:.3f}')
for epoch in range(1, 7):
    total = 0.0
    for images, boxes, labels, valid in loader:
        images, boxes = images.to(device), boxes.to(device)
        labels, valid = labels.to(device), valid.to(device)
        loss = detection_loss(images, boxes, labels, valid)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, precision, recall, n_det = evaluate(*test)
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'detections {n_det} | precision {precision:.3f} | recall {recall:.3f}')

suppressed = nms(torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.]]),
                 torch.tensor([0.6, 0.9, 0.5]))
print(f'nms keeps {suppressed}')
