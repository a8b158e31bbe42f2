"""A DARTS-style differentiable architecture search (Liu et al., 2019, "DARTS:
Differentiable Architecture Search"), written for the xpnn tests after the paper's
first-order algorithm, on made-up images.

A cell holds a mixed op on each edge of a small DAG: 3x3 conv, dilated 3x3 conv, 3x3 average
and max pooling, identity and zero, summed with weights ``F.softmax`` of architecture alphas
(an ``nn.Parameter`` per edge). The search alternates, per step, an Adam step on the alphas
against a validation batch (the gradient taken by ``torch.autograd.grad`` with respect to the
alphas alone, written into ``.grad``) and an SGD step with momentum and nesterov on the
network's weights against a training batch; the two optimizers hold separate parameter
lists. The derived genotype is the ``argmax`` of each edge's alphas (zero left out).

    python tests/pytorch_programs/tutorials/darts_search.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

OPS = ['conv_3x3', 'dil_conv_3x3', 'avg_pool_3x3', 'max_pool_3x3', 'skip_connect', 'none']


def make_op(name, c):
    if name == 'conv_3x3':
        return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False),
                             nn.BatchNorm2d(c, affine=False))
    if name == 'dil_conv_3x3':
        return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=2, dilation=2, bias=False),
                             nn.BatchNorm2d(c, affine=False))
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name == 'max_pool_3x3':
        return nn.MaxPool2d(3, stride=1, padding=1)
    if name == 'skip_connect':
        return nn.Identity()
    return Zero()


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class MixedOp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ops = nn.ModuleList(make_op(name, c) for name in OPS)

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self.ops))


class Cell(nn.Module):
    """Two intermediate nodes: node 0 from the input, node 1 from the input and node 0."""
    def __init__(self, c):
        super().__init__()
        self.edges = nn.ModuleList(MixedOp(c) for _ in range(3))

    def forward(self, x, weights):
        n0 = self.edges[0](x, weights[0])
        n1 = self.edges[1](x, weights[1]) + self.edges[2](n0, weights[2])
        return n0 + n1


class Network(nn.Module):
    def __init__(self, c=8, classes=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c))
        self.cell = Cell(c)
        self.classifier = nn.Linear(c, classes)
        self.alphas = nn.Parameter(1e-3 * torch.randn(3, len(OPS)))

    def weights(self):
        return [p for n, p in self.named_parameters() if n != 'alphas']

    def forward(self, x):
        h = self.cell(self.stem(x), F.softmax(self.alphas, dim=-1))
        return self.classifier(F.adaptive_avg_pool2d(h, 1).flatten(1))


def make_images(count, size=10):
    """Class 0: a horizontal bar, 1: a vertical bar, 2: a diagonal, all at random offsets."""
    y = rng.integers(0, 3, count)
    x = rng.normal(0, 0.3, (count, 1, size, size)).astype(np.float32)
    for i, c in enumerate(y):
        k = rng.integers(2, size - 2)
        if c == 0:
            x[i, 0, k, :] += 1.5
        elif c == 1:
            x[i, 0, :, k] += 1.5
        else:
            x[i, 0][np.arange(size), (np.arange(size) + k) % size] += 1.5
    return torch.from_numpy(x), torch.from_numpy(y)


train_x, train_y = make_images(256)
valid_x, valid_y = make_images(128)
test_x, test_y = make_images(128)

model = Network().to(device)
w_optimizer = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9, nesterov=True,
                              weight_decay=3e-4)
a_optimizer = torch.optim.Adam([model.alphas], lr=6e-3, betas=(0.5, 0.999),
                               weight_decay=1e-3)
criterion = nn.CrossEntropyLoss()
print(f'weights {sum(p.numel() for p in model.weights())} in {len(model.weights())} tensors,'
      f' alphas {tuple(model.alphas.shape)}')


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        loss = criterion(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    model.train()
    return loss, accuracy


def genotype():
    probs = F.softmax(model.alphas.detach(), dim=-1)[:, :-1]     # 'none' left out
    return [OPS[i] for i in probs.argmax(dim=-1).tolist()]


loss, accuracy = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}')
batch = 32
for epoch in range(1, 6):
    order = torch.from_numpy(rng.permutation(len(train_x)))
    v_order = torch.from_numpy(rng.permutation(len(valid_x)))
    w_total, a_total, steps = 0.0, 0.0, 0
    for i in range(0, len(train_x), batch):
        j = (i // 2) % len(valid_x)
        xv = valid_x[v_order[j:j + batch // 2]].to(device)
        yv = valid_y[v_order[j:j + batch // 2]].to(device)
        # architecture step: first-order, on a validation batch
        a_optimizer.zero_grad()
        a_loss = criterion(model(xv), yv)
        (model.alphas.grad,) = torch.autograd.grad(a_loss, [model.alphas])
        a_optimizer.step()
        # weight step on a training batch
        xb = train_x[order[i:i + batch]].to(device)
        yb = train_y[order[i:i + batch]].to(device)
        w_optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        model.alphas.grad = None                  # the weights' step leaves alphas alone
        nn.utils.clip_grad_norm_(model.weights(), 5.0)
        w_optimizer.step()
        w_total += loss.item()
        a_total += a_loss.item()
        steps += 1
    loss, accuracy = evaluate()
    top = F.softmax(model.alphas.detach(), dim=-1).max(dim=-1).values
    print(f'epoch {epoch} | train loss {w_total / steps:.4f} | valid loss {a_total / steps:.4f}'
          f' | test loss {loss:.4f} | accuracy {accuracy:.3f} | max edge weight '
          f'{top.max().item():.4f}')

print(f'alphas softmax, edge 0: {[round(v, 3) for v in F.softmax(model.alphas, -1)[0].tolist()]}')
print(f'genotype: {genotype()}')
