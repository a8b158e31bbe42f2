"""Multi-label classification with the asymmetric loss (ASL), written for the xpnn tests:
8 labels on 24-dimensional made-up features, most samples carrying one to three labels and
the rare labels under-represented, in shuffled mini-batches from a ``DataLoader`` over a
``TensorDataset``.

An MLP is trained three times from the same initial weights: under
``BCEWithLogitsLoss(pos_weight=...)`` with the positive weights from the label frequencies,
under an asymmetric loss written by hand (``sigmoid``, a probability margin by ``clamp``,
``torch.pow`` with per-sample focusing exponents ``gamma_pos * y + gamma_neg * (1 - y)``,
a log clamped away from zero), and under ``MultiLabelSoftMarginLoss`` (checked against the
BCE form first). It is evaluated by per-class average precision computed by sorting the
scores (``argsort(descending=True)``, ``cumsum``), mAP, and a per-class threshold tuned over
a ``torch.linspace`` grid by ``torch.argmax`` of the F1, the predictions made by ``.bool()``.

    python tests/pytorch_programs/tutorials/multilabel_asl.py
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

n, d, n_labels = 640, 24, 8
centers = torch.randn(n_labels, d)
bias = torch.linspace(1.2, -1.2, n_labels)  # label 0 common, label 7 rare
x = torch.randn(n, d)
scores = x @ centers.T / d ** 0.5 * 2.0 + bias + 0.5 * torch.randn(n, n_labels)
y = (scores > 1.0).float()
x, y = x.to(device), y.to(device)
x_train, y_train, x_test, y_test = x[:480], y[:480], x[480:], y[480:]
freq = y_train.mean(0)
print(f'label frequencies {[round(v, 3) for v in freq.tolist()]} | labels per sample '
      f'{y_train.sum(1).mean().item():.3f}')


class MLP(nn.Module):
    def __init__(self, d, hidden, n_labels):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(0.1),
                                 nn.Linear(hidden, n_labels))

    def forward(self, x):
        return self.net(x)


class AsymmetricLoss(nn.Module):
    def __init__(self, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps

    def forward(self, logits, targets):
        p = torch.sigmoid(logits)
        p_neg = (1 - p + self.clip).clamp(max=1)  # probability margin for negatives
        loss_pos = targets * torch.log(p.clamp(min=self.eps))
        loss_neg = (1 - targets) * torch.log(p_neg.clamp(min=self.eps))
        loss = loss_pos + loss_neg
        pt = p * targets + (1 - p_neg) * (1 - targets)
        gamma = self.gamma_pos * targets + self.gamma_neg * (1 - targets)
        with torch.no_grad():  # the focusing weight is not differentiated (as in ASL)
            weight = torch.pow(1 - pt, gamma)
        return -(loss * weight).sum() / logits.size(0)


def average_precision(scores, targets):
    order = scores.argsort(descending=True)
    hits = targets[order]
    precision = hits.cumsum(0) / torch.arange(1, len(hits) + 1, device=scores.device)
    return (precision * hits).sum() / hits.sum().clamp(min=1)


def evaluate(model, x, y, criterion):
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = criterion(logits, y)
        probs = torch.sigmoid(logits)
        aps = torch.stack([average_precision(probs[:, c], y[:, c]) for c in range(n_labels)])
    return loss.item(), aps, probs


def f1_scores(pred, targets):
    tp = (pred & targets).sum(0).float()
    fp = (pred & ~targets).sum(0).float()
    fn = (~pred & targets).sum(0).float()
    return 2 * tp / (2 * tp + fp + fn).clamp(min=1)


# MultiLabelSoftMarginLoss is the mean over labels of the BCE with logits
logits = torch.randn(5, n_labels)
target = (torch.randn(5, n_labels) > 0).float()
mlsm = nn.MultiLabelSoftMarginLoss()(logits, target)
bce = F.binary_cross_entropy_with_logits(logits, target)
weighted = nn.MultiLabelSoftMarginLoss(weight=torch.linspace(0.5, 1.5, n_labels))(logits, target)
print(f'multilabel soft margin {mlsm.item():.6f} | bce {bce.item():.6f} | weighted '
      f'{weighted.item():.6f}')

model = MLP(d, 64, n_labels).to(device)
pos_weight = ((1 - freq) / freq.clamp(min=1e-3)).clamp(max=10.0)
plain_bce = nn.BCEWithLogitsLoss()
with torch.no_grad():
    print(f'untrained test bce {plain_bce(model(x_test), y_test).item():.6f}')
initial = copy.deepcopy(model.state_dict())
print(f'pos_weight {[round(v, 3) for v in pos_weight.tolist()]}')

losses = {'bce_pos_weight': nn.BCEWithLogitsLoss(pos_weight=pos_weight),
          'asymmetric': AsymmetricLoss(),
          'soft_margin': nn.MultiLabelSoftMarginLoss()}
results = {}
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=48, shuffle=True)
for name, criterion in losses.items():
    model.load_state_dict(initial)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for epoch in range(1, 7):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        test_loss, aps, probs = evaluate(model, x_test, y_test, criterion)
        test_bce = plain_bce(torch.logit(probs.clamp(1e-6, 1 - 1e-6)), y_test).item()
        print(f'{name} epoch {epoch} | train loss {total / 10:.4f} | test loss '
              f'{test_loss:.4f} | test bce {test_bce:.4f} | mAP {aps.mean().item():.4f}')
    results[name] = probs

# threshold tuning per class on the test scores of the ASL model
probs = results['asymmetric']
truth = y_test.bool()
grid = torch.linspace(0.05, 0.95, 19, device=device)
f1_grid = torch.stack([f1_scores(probs > t, truth) for t in grid])  # (thresholds, labels)
best = torch.argmax(f1_grid, dim=0)
thresholds = grid[best]
tuned = (probs - thresholds).gt(0).float().bool()
default = (probs > 0.5).bool()
print(f'best thresholds {[round(v, 2) for v in thresholds.tolist()]}')
print(f'macro F1 at 0.5 {f1_scores(default, truth).mean().item():.4f} | tuned '
      f'{f1_scores(tuned, truth).mean().item():.4f} | micro F1 tuned '
      f'{f1_scores(tuned.flatten().unsqueeze(1), truth.flatten().unsqueeze(1)).item():.4f}')
print(f'exact-match accuracy {(tuned == truth).all(dim=1).float().mean().item():.4f} | '
      f'hamming accuracy {(tuned == truth).float().mean().item():.4f}')
