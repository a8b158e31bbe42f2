"""Knowledge distillation (Hinton et al., 2015), written for the xpnn tests: a wide teacher
MLP is trained on made-up data (8 classes of 32 features around noisy centres), then a
narrow student learns from the teacher's softened outputs.

The student's loss is KLDivLoss(reduction="batchmean", log_target=True) between its
log-softmax and the teacher's at temperature T (times T**2), mixed with
CrossEntropyLoss(label_smoothing=0.1) on the labels; the teacher runs under eval() and
torch.no_grad(). Test accuracies of both.

    python tests/pytorch_programs/tutorials/distillation.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)

n_classes, n_features, n_train, n_test = 8, 32, 1024, 256
centres = 1.2 * torch.randn(n_classes, n_features)
labels = torch.arange(n_train + n_test) % n_classes
inputs = centres[labels] + 2.0 * torch.randn(n_train + n_test, n_features)
train_loader = DataLoader(TensorDataset(inputs[:n_train], labels[:n_train]), batch_size=64,
                          shuffle=True)
x_test, y_test = inputs[n_train:], labels[n_train:]


class MLP(nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, n_classes))

    def forward(self, x):
        return self.net(x)


def accuracy(model):
    model.eval()
    with torch.no_grad():
        return (model(x_test).argmax(dim=1) == y_test).float().mean().item()


teacher = MLP(128, 0.3)
optimizer = torch.optim.Adam(teacher.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()
for epoch in range(1, 5):
    teacher.train()
    total = 0.0
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(teacher(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f'teacher epoch {epoch} | loss {total / len(train_loader):.4f} | '
          f'test accuracy {accuracy(teacher):.3f}')

T, alpha = 4.0, 0.7
teacher.eval()
with torch.no_grad():
    soft = F.softmax(teacher(x_test[:1]) / T, dim=1)
print('teacher soft targets at T=4:', soft.shape, f'sum {soft.sum().item():.4f}')

student = MLP(16, 0.0)
print(student)
optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
kd_criterion = nn.KLDivLoss(reduction='batchmean', log_target=True)
ce_criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
for epoch in range(1, 5):
    student.train()
    total_kd, total_ce = 0.0, 0.0
    for xb, yb in train_loader:
        with torch.no_grad():
            teacher_logits = teacher(xb)
        student_logits = student(xb)
        kd = kd_criterion(F.log_softmax(student_logits / T, dim=1),
                          F.log_softmax(teacher_logits / T, dim=1)) * T * T
        ce = ce_criterion(student_logits, yb)
        loss = alpha * kd + (1 - alpha) * ce
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_kd += kd.item()
        total_ce += ce.item()
    print(f'student epoch {epoch} | kd loss {total_kd / len(train_loader):.4f} | '
          f'ce loss {total_ce / len(train_loader):.4f} | test accuracy {accuracy(student):.3f}')

print(f'teacher {sum(p.numel() for p in teacher.parameters())} parameters, accuracy '
      f'{accuracy(teacher):.3f}; student {sum(p.numel() for p in student.parameters())} '
      f'parameters, accuracy {accuracy(student):.3f}')
