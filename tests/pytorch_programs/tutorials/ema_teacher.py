"""Mean teacher (Tarvainen and Valpola, 2017), written small for the xpnn tests: semi-supervised
classification of 5 made-up Gaussian clusters in 10 dimensions on a curved manifold, with only
4 labelled points per class among 600 training points.

The student is an MLP with BatchNorm and dropout; the teacher is a ``copy.deepcopy`` of it
with ``requires_grad_(False)``, updated after every step as an exponential moving average
under ``torch.no_grad`` (``t.mul_(d).add_(s, alpha=1 - d)`` for the weights,
``t.lerp_(s, 1 - d)`` for the floating-point buffers, picked by
``t.dtype.is_floating_point``). The loss is the cross-entropy on the few labels plus a
consistency term: ``F.kl_div(student_log_probs, teacher_log_probs, log_target=True,
reduction="batchmean")`` of the student on one noisy view against the teacher on another.
For comparison, a ``torch.optim.swa_utils.AveragedModel`` with
``multi_avg_fn=get_ema_multi_avg_fn(0.99)`` and ``use_buffers=True`` keeps its own EMA of
the student (BatchNorm statistics included); the test accuracies of student, teacher and
averaged model are printed.

    python tests/pytorch_programs/tutorials/ema_teacher.py
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

classes, dim = 5, 10
centres = 2.0 * torch.randn(classes, dim)


def make_points(n):
    labels = torch.arange(n) % classes
    x = centres[labels] + 0.9 * torch.randn(n, dim)
    x = x + 0.3 * torch.sin(x.roll(1, dims=1))
    return x, labels


train_x, train_y = make_points(600)
test_x, test_y = make_points(300)
labelled = torch.cat([torch.nonzero(train_y == c).flatten()[:4] for c in range(classes)])
print(f'labelled points per class: {torch.bincount(train_y[labelled]).tolist()}')

labelled_loader = DataLoader(TensorDataset(train_x[labelled], train_y[labelled]),
                             batch_size=10, shuffle=True)
unlabelled_loader = DataLoader(TensorDataset(train_x), batch_size=60, shuffle=True)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, 64), nn.BatchNorm1d(64), nn.ReLU(),
                                 nn.Dropout(0.2), nn.Linear(64, 64), nn.ReLU(),
                                 nn.Dropout(0.2), nn.Linear(64, classes))

    def forward(self, x):
        return self.net(x)


def noisy(x, std=0.4):
    return x + std * torch.randn_like(x)


def update_teacher(teacher, student, decay):
    with torch.no_grad():
        for t, s in zip(teacher.parameters(), student.parameters()):
            t.mul_(decay).add_(s, alpha=1 - decay)
        for t, s in zip(teacher.buffers(), student.buffers()):
            if t.dtype.is_floating_point:
                t.lerp_(s, 1 - decay)


def evaluate(net):
    net.eval()
    with torch.no_grad():
        logits = net(test_x.to(device))
        loss = F.cross_entropy(logits, test_y.to(device))
        accuracy = (logits.argmax(dim=1) == test_y.to(device)).float().mean()
    return loss.item(), accuracy.item()


student = MLP().to(device)
teacher = copy.deepcopy(student)
for p in teacher.parameters():
    p.requires_grad_(False)
ema_model = AveragedModel(student, multi_avg_fn=get_ema_multi_avg_fn(0.99), use_buffers=True)
print(f'teacher trainable parameters: '
      f'{sum(p.numel() for p in teacher.parameters() if p.requires_grad)}, '
      f'student: {sum(p.numel() for p in student.parameters() if p.requires_grad)}')

optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
consistency_weight, decay = 2.0, 0.95

for epoch in range(1, 9):
    student.train()
    teacher.train()
    total_ce, total_cons, steps = 0.0, 0.0, 0
    for (xu,) in unlabelled_loader:
        xl, yl = next(iter(labelled_loader))
        xl, yl, xu = xl.to(device), yl.to(device), xu.to(device)
        ce = F.cross_entropy(student(noisy(xl)), yl)
        student_log_probs = F.log_softmax(student(noisy(xu)), dim=1)
        with torch.no_grad():
            teacher_log_probs = F.log_softmax(teacher(noisy(xu)), dim=1)
        consistency = F.kl_div(student_log_probs, teacher_log_probs, log_target=True,
                               reduction='batchmean')
        loss = ce + consistency_weight * consistency
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        update_teacher(teacher, student, decay)
        ema_model.update_parameters(student)
        total_ce += ce.item()
        total_cons += consistency.item()
        steps += 1
    student_loss, student_acc = evaluate(student)
    teacher_loss, teacher_acc = evaluate(teacher)
    print(f'epoch {epoch} | ce {total_ce / steps:.4f} | consistency {total_cons / steps:.4f} '
          f'| student test loss {student_loss:.4f} acc {student_acc:.3f} '
          f'| teacher test loss {teacher_loss:.4f} acc {teacher_acc:.3f}')

_, ema_acc = evaluate(ema_model)
print(f'averaged {ema_model.n_averaged.item()} times')
print(f'final accuracy | student {evaluate(student)[1]:.3f} | teacher {evaluate(teacher)[1]:.3f} '
      f'| AveragedModel {ema_acc:.3f}')
gap = max((t - s).abs().max().item() for t, s in zip(teacher.parameters(), student.parameters()))
print(f'largest teacher-student weight gap {gap:.4f}')
print(f'teacher weights require grad: {teacher.net[0].weight.requires_grad}, '
      f'grad is None: {teacher.net[0].weight.grad is None}')
