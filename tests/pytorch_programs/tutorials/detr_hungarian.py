"""DETR-style set prediction (Carion et al., 2020, "End-to-End Object Detection with
Transformers"), written for the xpnn tests on made-up images of coloured rectangles.

Each 16x16 image holds one to three boxes, each painted into the channel of its class. A
small conv backbone gives a 4x4 feature map, flattened into the memory of an
``nn.TransformerDecoder`` (``batch_first=True``) with a learned positional embedding; the
decoder reads four learned object queries (``nn.Embedding.weight`` unsqueezed and
``expand``-ed over the batch). Each query predicts a class (three classes plus "no object")
and a box (cx, cy, w, h) through a sigmoid.

The targets are matched to the queries by the Hungarian objective, found by brute force over
``itertools.permutations`` of the queries (at most three targets, four queries): the cost of
a pair is minus the class probability, plus the L1 distance of the boxes
(``torch.cdist(p=1)``), minus their generalized IoU (written by hand: the corners by
``unbind``/``stack`` from cxcywh to xyxy, intersections by ``torch.max``/``torch.min`` and
``clamp(min=0)``). The loss is the cross-entropy of every query (matched ones against their
target's class, the rest against "no object", weighted 0.1) plus the L1 and 1 - GIoU of the
matched boxes. Predictions are ranked by ``torch.argsort`` of their confidence.

    python tests/pytorch_programs/tutorials/detr_hungarian.py
"""
import itertools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, n_queries, side, d_model = 3, 4, 16, 32
no_object = n_classes


def make_images(count):
    images = np.zeros((count, n_classes, side, side), dtype=np.float32)
    targets = []
    for i in range(count):
        boxes, labels = [], []
        for _ in range(rng.integers(1, 4)):
            w, h = rng.integers(3, 8, size=2)
            x0, y0 = rng.integers(0, side - w + 1), rng.integers(0, side - h + 1)
            c = rng.integers(0, n_classes)
            images[i, c, y0:y0 + h, x0:x0 + w] = 1.0
            boxes.append([(x0 + w / 2) / side, (y0 + h / 2) / side, w / side, h / side])
            labels.append(c)
        targets.append({'labels': torch.tensor(labels, device=device),
                        'boxes': torch.tensor(boxes, dtype=torch.float32, device=device)})
    images += 0.1 * rng.standard_normal(images.shape).astype(np.float32)
    return torch.from_numpy(images).to(device), targets


def cxcywh_to_xyxy(b):
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def xyxy_to_cxcywh(b):
    x0, y0, x1, y1 = b.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)


def generalized_iou(a, b):
    """Pairwise GIoU of xyxy boxes a (A, 4) and b (B, 4): (A, B)."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    iou = inter / union
    lt_c = torch.min(a[:, None, :2], b[None, :, :2])
    rb_c = torch.max(a[:, None, 2:], b[None, :, 2:])
    area_c = (rb_c - lt_c).clamp(min=0).prod(dim=-1)
    return iou - (area_c - union) / area_c


class DETR(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(n_classes, 16, 3, stride=2, padding=1),
                                      nn.ReLU(),
                                      nn.Conv2d(16, d_model, 3, stride=2, padding=1))
        self.pos = nn.Parameter(torch.randn(1, 16, d_model) * 0.1)
        self.queries = nn.Embedding(n_queries, d_model)
        layer = nn.TransformerDecoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.0,
                                           batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, num_layers=2)
        self.class_head = nn.Linear(d_model, n_classes + 1)
        self.box_head = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(),
                                      nn.Linear(d_model, 4))

    def forward(self, images):
        memory = self.backbone(images).flatten(2).transpose(1, 2) + self.pos
        queries = self.queries.weight.unsqueeze(0).expand(images.shape[0], -1, -1)
        h = self.decoder(queries, memory)
        return self.class_head(h), self.box_head(h).sigmoid()


@torch.no_grad()
def match(logits, boxes, target):
    """The permutation of queries (one per target) of least total cost, brute force."""
    n = len(target['labels'])
    prob = logits.softmax(-1)[:, target['labels']]                      # (Q, n)
    l1 = torch.cdist(boxes, target['boxes'], p=1)
    giou = generalized_iou(cxcywh_to_xyxy(boxes), cxcywh_to_xyxy(target['boxes']))
    cost = -prob + 5 * l1 - 2 * giou
    perms = list(itertools.permutations(range(n_queries), n))
    totals = torch.stack([cost[list(perm), list(range(n))].sum() for perm in perms])
    return torch.tensor(perms[totals.argmin().item()], device=logits.device)


class_weight = torch.ones(n_classes + 1, device=device)
class_weight[no_object] = 0.1


def set_loss(logits, boxes, targets):
    ce, l1, giou_loss, n_boxes = 0.0, 0.0, 0.0, 0
    for b, target in enumerate(targets):
        queries = match(logits[b], boxes[b], target)
        labels = torch.full((n_queries,), no_object, dtype=torch.long, device=logits.device)
        labels[queries] = target['labels']
        ce = ce + F.cross_entropy(logits[b], labels, weight=class_weight)
        matched = boxes[b][queries]
        l1 = l1 + F.l1_loss(matched, target['boxes'], reduction='sum')
        giou = generalized_iou(cxcywh_to_xyxy(matched), cxcywh_to_xyxy(target['boxes']))
        giou_loss = giou_loss + (1 - giou.diagonal()).sum()
        n_boxes += len(queries)
    return ce / len(targets), (5 * l1 / 4 + 2 * giou_loss) / n_boxes


train_images, train_targets = make_images(96)
test_images, test_targets = make_images(32)
box = torch.tensor([[0.5, 0.5, 0.25, 0.5]])
print(f'cxcywh {box.tolist()} -> xyxy {cxcywh_to_xyxy(box).tolist()} -> back '
      f'{xyxy_to_cxcywh(cxcywh_to_xyxy(box)).tolist()}')
print(f'giou of a box with itself {generalized_iou(cxcywh_to_xyxy(box), cxcywh_to_xyxy(box)).tolist()}')

model = DETR().to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits, boxes = model(test_images)
        ce, box_loss = set_loss(logits, boxes, test_targets)
        correct = total = 0
        for b, target in enumerate(test_targets):
            queries = match(logits[b], boxes[b], target)
            correct += (logits[b, queries].argmax(-1) == target['labels']).sum().item()
            total += len(queries)
    model.train()
    return ce, box_loss, correct / total


ce, box_loss, accuracy = evaluate()
print(f'untrained | test ce {ce.item():.4f} | box loss {box_loss.item():.4f} | matched '
      f'class accuracy {accuracy:.3f}')
for epoch in range(1, 7):
    order = rng.permutation(len(train_targets))
    for start in range(0, len(order), 16):
        idx = order[start:start + 16]
        logits, boxes = model(train_images[torch.from_numpy(idx)])
        ce, box_loss = set_loss(logits, boxes, [train_targets[i] for i in idx])
        loss = ce + box_loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
    ce, box_loss, accuracy = evaluate()
    print(f'epoch {epoch} | train loss {loss.item():.4f} | test ce {ce.item():.4f} | box loss '
          f'{box_loss.item():.4f} | matched class accuracy {accuracy:.3f}')

model.eval()
with torch.no_grad():
    logits, boxes = model(test_images[:1])
    scores, classes = logits[0].softmax(-1)[:, :n_classes].max(-1)
    ranking = torch.argsort(scores, descending=True)
print(f'first test image: {len(test_targets[0]["labels"])} objects, queries ranked '
      f'{ranking.tolist()}, classes {classes[ranking].tolist()}, target classes '
      f'{sorted(test_targets[0]["labels"].tolist())}')
