"""A tour of torch.nn's loss modules, each built with non-default arguments, on one small
network trained in turn under every one of them, written for the xpnn tests after the
torch.nn loss documentation, on made-up data.

One two-layer MLP maps 8 features to 8 outputs; a fixed random teacher makes the targets.
Every loss is first read on the untrained network; before each loss's training the network
is reset to that untrained state (a ``copy.deepcopy`` of its ``state_dict``) and then
trained by Adam for a few full-batch steps, reading its 8 outputs the way that loss wants
them:

* ``GaussianNLLLoss(full=True, eps=)``: a mean and a softplus variance;
* ``PoissonNLLLoss(log_input=False, full=True)``: a softplus rate against counts;
* ``KLDivLoss(reduction="batchmean", log_target=True)``: log_softmax against the teacher's
  log-probabilities;
* ``CosineEmbeddingLoss(margin=)`` and ``MarginRankingLoss(margin=)`` on pairs;
* ``MultiMarginLoss(p=2, margin=, weight=)`` and ``MultiLabelSoftMarginLoss(weight=)``;
* ``HuberLoss(delta=)`` and ``SmoothL1Loss(beta=)`` on a regression target;
* ``TripletMarginWithDistanceLoss`` with a lambda distance 1 - cosine similarity and
  ``swap=True``;
* ``HingeEmbeddingLoss(margin=)`` on distances and ``SoftMarginLoss`` on +-1 labels.

Each loss prints its value before and after training, and the sum over the zoo closes.

    python tests/pytorch_programs/tutorials/loss_zoo_regression.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(24)
rng = np.random.default_rng(24)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
N, D_IN, D_OUT, STEPS = 128, 8, 8, 40

x_np = rng.standard_normal((N, D_IN))
teacher_np = rng.standard_normal((D_IN, D_OUT)) / np.sqrt(D_IN)
counts_np = rng.poisson(np.exp(0.5 * (x_np @ teacher_np)[:, 1]) + 0.5)   # made in NumPy
x = torch.tensor(x_np, dtype=torch.float32, device=device)
teacher = torch.tensor(teacher_np, dtype=torch.float32, device=device)
t = x @ teacher                                             # the teacher's outputs, (N, 8)
y_reg = t[:, 0] + 0.1 * torch.tensor(rng.standard_normal(N), dtype=torch.float32, device=device)
counts = torch.tensor(counts_np, dtype=torch.float32, device=device)
classes = t[:, :4].argmax(dim=1)
multi_hot = (t[:, 4:] > 0).float()
sign = torch.where(t[:, 2] > 0, 1.0, -1.0)
x_pair = torch.tensor(rng.standard_normal((N, D_IN)), dtype=torch.float32, device=device)
t_pair = x_pair @ teacher
pair_sign = torch.where((t * t_pair).sum(dim=1) > 0, 1.0, -1.0)
rank_sign = torch.where(t[:, 3] > t_pair[:, 3], 1.0, -1.0)
positive = x + 0.2 * torch.tensor(rng.standard_normal((N, D_IN)), dtype=torch.float32,
                                  device=device)
negative = x[torch.tensor(rng.permutation(N), device=device)]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(D_IN, 32), nn.Tanh(), nn.Linear(32, D_OUT))

    def forward(self, x):
        return self.body(x)


model = Net().to(device)

gaussian_nll = nn.GaussianNLLLoss(full=True, eps=1e-4)
poisson_nll = nn.PoissonNLLLoss(log_input=False, full=True)
kl_div = nn.KLDivLoss(reduction="batchmean", log_target=True)
cosine = nn.CosineEmbeddingLoss(margin=0.2)
ranking = nn.MarginRankingLoss(margin=0.5)
multi_margin = nn.MultiMarginLoss(p=2, margin=0.8,
                                  weight=torch.tensor([1.0, 2.0, 0.5, 1.5], device=device))
multi_label = nn.MultiLabelSoftMarginLoss(weight=torch.tensor([1.0, 0.5, 2.0, 1.0],
                                                              device=device))
huber = nn.HuberLoss(delta=0.5)
smooth_l1 = nn.SmoothL1Loss(beta=0.3)
triplet = nn.TripletMarginWithDistanceLoss(
    distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.3, swap=True)
hinge = nn.HingeEmbeddingLoss(margin=2.0)
soft_margin = nn.SoftMarginLoss()

LOSSES = {
    "GaussianNLLLoss": lambda m: gaussian_nll(m(x)[:, 0], y_reg, F.softplus(m(x)[:, 1])),
    "PoissonNLLLoss": lambda m: poisson_nll(F.softplus(m(x)[:, 0]) + 1e-3, counts),
    "KLDivLoss": lambda m: kl_div(F.log_softmax(m(x), dim=1), F.log_softmax(2 * t, dim=1)),
    "CosineEmbeddingLoss": lambda m: cosine(m(x), m(x_pair), pair_sign),
    "MarginRankingLoss": lambda m: ranking(m(x)[:, 0], m(x_pair)[:, 0], rank_sign),
    "MultiMarginLoss": lambda m: multi_margin(m(x)[:, :4], classes),
    "MultiLabelSoftMarginLoss": lambda m: multi_label(m(x)[:, 4:], multi_hot),
    "HuberLoss": lambda m: huber(m(x)[:, 0], y_reg),
    "SmoothL1Loss": lambda m: smooth_l1(m(x)[:, 0], y_reg),
    "TripletMarginWithDistanceLoss": lambda m: triplet(m(x), m(positive), m(negative)),
    "HingeEmbeddingLoss": lambda m: hinge((m(x) - m(x_pair)).norm(dim=1), pair_sign),
    "SoftMarginLoss": lambda m: soft_margin(m(x)[:, 2], sign),
}

with torch.no_grad():  # every loss of the untrained network, then its state to come back to
    untrained = {name: loss_fn(model).item() for name, loss_fn in LOSSES.items()}
initial = copy.deepcopy(model.state_dict())

total_before, total_after = 0.0, 0.0
for name, loss_fn in LOSSES.items():
    model.load_state_dict(initial)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    before = untrained[name]
    for step in range(STEPS):
        optimizer.zero_grad()
        loss = loss_fn(model)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = loss_fn(model).item()
    total_before += before
    total_after += after
    print(f"{name:30s} | before {before:.4f} | after {after:.4f}")

print(f"zoo total | before {total_before:.4f}")
print(f"zoo total | after {total_after:.4f}")
