"""A deep ensemble calibrated by temperature scaling (Guo et al., 2017, "On Calibration of
Modern Neural Networks"; Lakshminarayanan et al., 2017, "Simple and Scalable Predictive
Uncertainty Estimation using Deep Ensembles"), written small for the xpnn tests on made-up
data.

Three MLPs (one ``nn.Module`` holding them in an ``nn.ModuleList``, their losses summed)
are trained on the same small set of overlapping Gaussian clusters (so they grow
overconfident); the ensemble's prediction is ``F.softmax`` of the averaged logits, set beside
the average of the members' probabilities. A single temperature is then fitted on
validation logits by ``torch.optim.LBFGS`` (a closure, ``line_search_fn="strong_wolfe"``)
on the log temperature. The expected calibration error is computed twice, with the bins
found by ``torch.bucketize`` (accuracy and confidence per bin by ``index_add_``) and the
counts by ``torch.histc``; the NLL and the ECE on the test set are printed before and after
scaling.

    python tests/pytorch_programs/tutorials/temperature_scaling.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, dim = 5, 10
centres = 1.2 * torch.randn(n_classes, dim)


def make_set(count):
    labels = torch.arange(count) % n_classes
    return centres[labels] + torch.randn(count, dim), labels


train_x, train_y = make_set(200)
val_x, val_y = make_set(400)
test_x, test_y = make_set(600)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=25, shuffle=True)


class MLP(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x):
        return self.net(x)


class DeepEnsemble(nn.Module):
    """Members trained side by side: their losses are summed, so each one's gradient is its
    own, and they differ by their initial parameters."""

    def __init__(self, size=3):
        super().__init__()
        self.members = nn.ModuleList(MLP() for _ in range(size))

    def forward(self, x):
        return torch.stack([m(x) for m in self.members])


ensemble = DeepEnsemble().to(device)
optimizer = torch.optim.Adam(ensemble.parameters(), lr=3e-3)
for epoch in range(1, 31):
    ensemble.train()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = ensemble(x)
        loss = sum(F.cross_entropy(member, y) for member in logits)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch % 10 == 0:
        ensemble.eval()
        with torch.no_grad():
            val = ensemble(val_x.to(device))
            nll = [F.cross_entropy(member, val_y.to(device)).item() for member in val]
        print(f'epoch {epoch} | train loss {loss.item() / len(logits):.4f} | member val nll '
              + ' '.join(f'{v:.4f}' for v in nll))
ensemble.eval()
members = list(ensemble.members)


@torch.no_grad()
def ensemble_logits(x):
    return ensemble(x.to(device)).mean(dim=0)


def expected_calibration_error(probs, labels, n_bins=10):
    confidence, prediction = probs.max(dim=1)
    correct = (prediction == labels).float()
    boundaries = torch.linspace(0, 1, n_bins + 1, device=probs.device)
    bins = torch.bucketize(confidence, boundaries[1:-1])
    counts = torch.zeros(n_bins, device=probs.device).index_add_(0, bins, torch.ones_like(correct))
    acc_sum = torch.zeros(n_bins, device=probs.device).index_add_(0, bins, correct)
    conf_sum = torch.zeros(n_bins, device=probs.device).index_add_(0, bins, confidence)
    gap = (acc_sum - conf_sum).abs()
    histogram = torch.histc(confidence, bins=n_bins, min=0, max=1)
    return gap.sum() / len(labels), counts, histogram


val_logits = ensemble_logits(val_x)
test_logits = ensemble_logits(test_x)
with torch.no_grad():
    probs_of_mean = F.softmax(test_logits, dim=1)
    mean_of_probs = torch.stack([F.softmax(m(test_x.to(device)), dim=1) for m in members]).mean(0)
    nll_a = F.nll_loss(probs_of_mean.log(), test_y).item()
    nll_b = F.nll_loss(mean_of_probs.log(), test_y).item()
    acc = (probs_of_mean.argmax(1) == test_y).float().mean().item()
print(f'ensemble test accuracy {acc:.4f} | nll softmax(mean logits) {nll_a:.4f} | '
      f'nll mean(softmax) {nll_b:.4f} | max prob difference '
      f'{(probs_of_mean - mean_of_probs).abs().max().item():.4f}')

# the temperature is fitted in float64, as calibration code often does: near the optimum the
# line search compares losses that differ in their last float32 digits
val_logits64, val_y_dev = val_logits.double(), val_y.to(device)
log_t = nn.Parameter(torch.zeros(1, dtype=torch.float64, device=device))
optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=50, line_search_fn='strong_wolfe')
evaluations = []


def closure():
    optimizer.zero_grad()
    loss = F.cross_entropy(val_logits64 / log_t.exp(), val_y_dev)
    loss.backward()
    evaluations.append(loss.detach())
    return loss


for step in range(3):
    loss = optimizer.step(closure)
    print(f'lbfgs step {step} | val nll {loss.item():.4f} | temperature '
          f'{log_t.exp().item():.4f} | evaluations {len(evaluations)}')

temperature = log_t.detach().exp().float()
for name, logits in (('before', test_logits), ('after', test_logits / temperature)):
    probs = F.softmax(logits, dim=1)
    ece, counts, histogram = expected_calibration_error(probs, test_y.to(device))
    nll = F.cross_entropy(logits, test_y.to(device)).item()
    print(f'{name} scaling | test nll {nll:.4f} | ece {ece.item():.4f} | '
          f'mean confidence {probs.max(1).values.mean().item():.4f}')
    print(f'  bucketize counts {counts.long().tolist()}')
    print(f'  histc counts     {histogram.long().tolist()}')
