"""Domain-adversarial training (Ganin and Lempitsky, 2015, "Unsupervised Domain Adaptation
by Backpropagation"; Ganin et al., 2016, "Domain-Adversarial Training of Neural
Networks"), written for the xpnn tests after the paper's algorithm, on made-up data.

Three classes live in 12 features; the source domain has labels, the target domain is the
same classes seen through a rotation of the first features plus a shift, and has none. A
feature extractor feeds a label classifier and, through a gradient reversal layer, a domain
classifier: a ``torch.autograd.Function`` that is the identity forward and multiplies the
gradient by -alpha backward (``ctx.alpha``, ``grad_output.neg() * ctx.alpha``), so the
features learn to fool the domain classifier (``BCEWithLogitsLoss`` on source 0 / target
1). alpha ramps as 2 / (1 + exp(-10 p)) - 1 over the training progress p and the learning
rate anneals as lr / (1 + 10 p) ** 0.75, as in the paper. A source-only copy (a
``copy.deepcopy`` of the untrained model, domain loss off) is trained first; both print the
accuracy on the target domain.

    python tests/pytorch_programs/tutorials/dann_gradient_reversal.py
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
N_CLASSES, FEATURES = 3, 12

means = 1.2 * rng.standard_normal((N_CLASSES, FEATURES))
angle = 1.3
rotation = np.eye(FEATURES)
rotation[:2, :2] = [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
rotation[2:4, 2:4] = [[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]]
shift = 2.0 * rng.standard_normal(FEATURES)


def make_domain(count, target):
    labels = rng.integers(0, N_CLASSES, count)
    x = means[labels] + rng.standard_normal((count, FEATURES))
    if target:
        x = x @ rotation.T + shift
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


class GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.neg() * ctx.alpha, None


class DANN(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(),
                                      nn.Linear(hidden, hidden), nn.ReLU())
        self.classifier = nn.Linear(hidden, N_CLASSES)
        self.domain = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x, alpha=1.0):
        h = self.features(x)
        return self.classifier(h), self.domain(GradientReversal.apply(h, alpha)).squeeze(1)


source_x, source_y = make_domain(512, target=False)
target_x, target_y = make_domain(512, target=True)
test_x, test_y = make_domain(256, target=True)
print(f'source {tuple(source_x.shape)} | target {tuple(target_x.shape)}')

# the reversal layer: identity forward, -alpha times the gradient backward
h = torch.randn(5, 3, requires_grad=True)
out = GradientReversal.apply(h, 0.3)
(out * torch.arange(15.0).view(5, 3)).sum().backward()
print(f'forward identity {torch.equal(out, h)} | '
      f'gradient -alpha * upstream {torch.allclose(h.grad, -0.3 * torch.arange(15.0).view(5, 3))}')

model = DANN().to(device)


def evaluate(net):
    net.eval()
    with torch.no_grad():
        logits, _ = net(test_x.to(device))
        loss = F.cross_entropy(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    net.train()
    return loss, accuracy


loss, accuracy = evaluate(model)
print(f'untrained | target loss {loss:.4f} | target accuracy {accuracy:.3f}')
source_only = copy.deepcopy(model)


def train(net, name, adapt, epochs=6, lr=0.01):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    source_loader = DataLoader(TensorDataset(source_x, source_y), batch_size=32, shuffle=True)
    target_loader = DataLoader(TensorDataset(target_x), batch_size=32, shuffle=True)
    domain_loss_fn = nn.BCEWithLogitsLoss()
    total_steps, step = epochs * len(source_loader), 0
    for epoch in range(1, epochs + 1):
        sums = [0.0, 0.0, 0.0]
        for (xs, ys), (xt,) in zip(source_loader, target_loader):
            xs, ys, xt = xs.to(device), ys.to(device), xt.to(device)
            p = step / total_steps
            alpha = 2.0 / (1.0 + math.exp(-10 * p)) - 1
            for group in optimizer.param_groups:
                group['lr'] = lr / (1 + 10 * p) ** 0.75
            logits, domain_s = net(xs, alpha)
            class_loss = F.cross_entropy(logits, ys)
            if adapt:
                _, domain_t = net(xt, alpha)
                domain_logits = torch.cat([domain_s, domain_t])
                domain_labels = torch.cat([torch.zeros_like(domain_s), torch.ones_like(domain_t)])
                domain_loss = domain_loss_fn(domain_logits, domain_labels)
                with torch.no_grad():
                    domain_acc = ((domain_logits > 0).float() == domain_labels).float().mean()
                loss = class_loss + domain_loss
            else:
                domain_loss, domain_acc = torch.zeros(()), torch.zeros(())
                loss = class_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sums[0] += class_loss.item()
            sums[1] += domain_loss.item()
            sums[2] += domain_acc.item()
            step += 1
        n = len(source_loader)
        target_loss, accuracy = evaluate(net)
        print(f'{name} epoch {epoch} | alpha {alpha:.3f} | class loss {sums[0] / n:.4f} | '
              f'domain loss {sums[1] / n:.4f} | domain accuracy {sums[2] / n:.3f} | '
              f'target loss {target_loss:.4f} | target accuracy {accuracy:.3f}')


train(source_only, 'source only', adapt=False)
train(model, 'dann', adapt=True)
