"""CORAL ordinal regression (Cao, Mirjalili and Raschka, 2020, "Rank consistent ordinal
regression for neural networks"), written for the xpnn tests after the paper's method, on
made-up tabular data with five ordered grades.

An MLP (with ``nn.Dropout``) maps the features to one score through a bias-free
``nn.Linear(hidden, 1)`` shared by every threshold; the K - 1 biases are kept ordered
(decreasing) by building them from a first bias minus ``torch.cumsum(F.softplus(...))`` of
free parameters, so the K - 1 binary tasks "grade > k" stay rank-consistent. Labels become
extended binary targets by ``(y[:, None] > torch.arange(K - 1))``; the loss is the sum of the
binary log-likelihoods by ``F.logsigmoid`` (``logsigmoid(z) - z`` for the negatives). A grade
is predicted by counting ``sigmoid > 0.5`` and, equivalently, by ``torch.bucketize`` of the
score into the negated thresholds; the two are checked equal. Test MAE, accuracy and a
confusion matrix by ``torch.bincount`` of ``K * y + prediction``; Adam on a shuffled
DataLoader with a StepLR.

    python tests/pytorch_programs/tutorials/ordinal_regression_coral.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

K, FEATURES = 5, 6
W_TRUE = rng.standard_normal(FEATURES)


def make_data(count):
    x = rng.standard_normal((count, FEATURES)).astype(np.float32)
    score = x @ W_TRUE + 0.5 * np.sin(2 * x[:, 0]) + 0.4 * rng.standard_normal(count)
    cuts = np.array([-1.8, -0.6, 0.6, 1.8]) * np.std(x @ W_TRUE)
    y = np.searchsorted(cuts, score)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


class CoralNet(nn.Module):
    def __init__(self, features, num_classes, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(hidden, hidden), nn.ReLU())
        self.score = nn.Linear(hidden, 1, bias=False)
        self.first_bias = nn.Parameter(torch.tensor(1.0))
        self.gaps = nn.Parameter(torch.zeros(num_classes - 2))

    def thresholds(self):
        """The K - 1 biases, decreasing: b_0, b_0 - softplus(d_0), ..."""
        steps = torch.cumsum(F.softplus(self.gaps), dim=0)
        return torch.cat([self.first_bias.reshape(1), self.first_bias - steps])

    def forward(self, x):
        g = self.score(self.body(x))              # (N, 1): one score for every task
        return g + self.thresholds(), g.squeeze(1)


def coral_loss(logits, levels):
    return -(F.logsigmoid(logits) * levels +
             (F.logsigmoid(logits) - logits) * (1 - levels)).sum(dim=1).mean()


def encode(y):
    return (y[:, None] > torch.arange(K - 1, device=y.device)).float()


train_x, train_y = make_data(768)
test_x, test_y = make_data(256)
print(f'grade counts train {torch.bincount(train_y, minlength=K).tolist()}')
print(f'levels of grade 3: {encode(torch.tensor([3]))[0].tolist()}')
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)

model = CoralNet(FEATURES, K).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)


@torch.no_grad()
def evaluate(x, y):
    model.eval()
    logits, g = model(x.to(device))
    model.train()
    y = y.to(device)
    by_count = (torch.sigmoid(logits) > 0.5).sum(dim=1)
    by_bucket = torch.bucketize(g, -model.thresholds())
    agree = torch.equal(by_count, by_bucket)
    mae = (by_count - y).abs().float().mean()
    acc = (by_count == y).float().mean()
    confusion = torch.bincount(K * y + by_count, minlength=K * K).reshape(K, K)
    return coral_loss(logits, encode(y)), mae, acc, confusion, agree


for epoch in range(10):
    total = 0.0
    for xb, yb in loader:
        logits, _ = model(xb.to(device))
        loss = coral_loss(logits, encode(yb.to(device)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()
    test_loss, mae, acc, confusion, agree = evaluate(test_x, test_y)
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss '
          f'{test_loss.item():.4f} | mae {mae.item():.4f} | accuracy {acc.item():.4f} | '
          f'count == bucketize: {agree}')

print('thresholds', [round(b, 3) for b in model.thresholds().tolist()])
print('ordered:', bool((model.thresholds()[1:] < model.thresholds()[:-1]).all()))
print('confusion (rows: true grade)')
print(confusion)
