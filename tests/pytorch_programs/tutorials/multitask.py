"""Multi-task learning with uncertainty weighting (Kendall, Gal and Cipolla, 2018), written
for the xpnn tests on 960 made-up rows of 10 features with two targets: a real value
(regression) and one of three classes (classification), both depending on a shared hidden
structure.

A shared trunk (Linear, LayerNorm, GELU) feeds a regression head and a classification head;
the two losses are weighted by learnable log-variances ``nn.Parameter(torch.zeros(2))``:
``exp(-s) * loss + s`` per task (the regression one with a factor 1/2). ``AdamW`` gets two
parameter groups found by ``named_parameters()``: weight decay on the weight matrices, none on
biases, LayerNorm weights and the log-variances. Gradients are accumulated over 4
micro-batches before each step, ``torch.nn.utils.clip_grad_norm_`` clips them (the total
norm it returns is printed) and ``OneCycleLR`` sets the learning rate per step. The best
epoch's weights are snapshotted by ``parameters_to_vector`` and restored at the end by
``vector_to_parameters``.

    python tests/pytorch_programs/tutorials/multitask.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import clip_grad_norm_, parameters_to_vector, vector_to_parameters
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(17)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def make_data(n):
    x = torch.randn(n, 10)
    mixing = torch.linspace(-1.0, 1.0, 40).view(10, 4)
    hidden = torch.tanh(x @ mixing)
    y_reg = hidden[:, 0] * 2.0 - hidden[:, 1] + 0.5 * hidden[:, 2] * hidden[:, 3] \
        + 0.3 * torch.randn(n)
    score = hidden[:, 1] + hidden[:, 3] - 0.5 * hidden[:, 0]
    y_cls = (score > -0.4).long() + (score > 0.4).long()
    return x, y_reg, y_cls


train_x, train_reg, train_cls = make_data(768)
val_x, val_reg, val_cls = make_data(192)
print(f'class counts {torch.bincount(train_cls).tolist()}, regression target std '
      f'{train_reg.std().item():.3f}')
loader = DataLoader(TensorDataset(train_x, train_reg, train_cls), batch_size=16, shuffle=True)


class MultiTaskNet(nn.Module):
    def __init__(self, hidden=48, classes=3):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(10, hidden), nn.LayerNorm(hidden), nn.GELU(),
                                   nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.GELU())
        self.regressor = nn.Linear(hidden, 1)
        self.classifier = nn.Linear(hidden, classes)
        self.log_vars = nn.Parameter(torch.zeros(2))

    def forward(self, x):
        h = self.trunk(x)
        return self.regressor(h).squeeze(-1), self.classifier(h)

    def weighted_loss(self, reg_loss, cls_loss):
        precision = torch.exp(-self.log_vars)
        return (0.5 * precision[0] * reg_loss + 0.5 * self.log_vars[0]
                + precision[1] * cls_loss + self.log_vars[1])


model = MultiTaskNet().to(device)
decay, no_decay = [], []
for name, param in model.named_parameters():
    if not param.requires_grad:
        continue
    if name.endswith('bias') or 'log_vars' in name or param.ndim < 2:
        no_decay.append(param)
    else:
        decay.append(param)
print(f'{len(decay)} tensors with weight decay ({sum(p.numel() for p in decay)} values), '
      f'{len(no_decay)} without ({sum(p.numel() for p in no_decay)} values)')
optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                               {'params': no_decay, 'weight_decay': 0.0}], lr=3e-3)
accumulation, epochs = 4, 8
steps_per_epoch = len(loader) // accumulation
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch)


def evaluate():
    model.eval()
    with torch.no_grad():
        pred_reg, logits = model(val_x.to(device))
        mse = F.mse_loss(pred_reg, val_reg.to(device))
        ce = F.cross_entropy(logits, val_cls.to(device))
        accuracy = (logits.argmax(dim=1) == val_cls.to(device)).float().mean()
    model.train()
    return mse.item(), ce.item(), accuracy.item()


best_score, best_epoch = float('inf'), 0
mse, ce, accuracy = evaluate()
print(f'untrained | val mse {mse:.4f} | val ce {ce:.4f} | val accuracy {accuracy:.3f}')
initial = parameters_to_vector(model.parameters()).detach().clone()
for epoch in range(1, epochs + 1):
    model.train()
    norms = []
    optimizer.zero_grad()
    for i, (x, y_reg, y_cls) in enumerate(loader):
        x, y_reg, y_cls = x.to(device), y_reg.to(device), y_cls.to(device)
        pred_reg, logits = model(x)
        loss = model.weighted_loss(F.mse_loss(pred_reg, y_reg), F.cross_entropy(logits, y_cls))
        (loss / accumulation).backward()
        if (i + 1) % accumulation == 0:
            norms.append(clip_grad_norm_(model.parameters(), max_norm=1.0))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    mse, ce, accuracy = evaluate()
    sigma = torch.exp(0.5 * model.log_vars.detach())
    print(f'epoch {epoch} | lr {scheduler.get_last_lr()[0]:.5f} | mean grad norm '
          f'{torch.stack(norms).mean().item():.3f} | val mse {mse:.4f} | val ce {ce:.4f} '
          f'| val accuracy {accuracy:.3f} | task sigmas {sigma.tolist()}')
    score = mse + ce
    if score < best_score:
        best_score, best_epoch = score, epoch
        snapshot = parameters_to_vector(model.parameters()).detach().clone()

last = parameters_to_vector(model.parameters()).detach().clone()
vector_to_parameters(initial, model.parameters())
mse, ce, accuracy = evaluate()
print(f'initial weights restored: val mse {mse:.4f} | val ce {ce:.4f} '
      f'| val accuracy {accuracy:.3f}')
vector_to_parameters(snapshot, model.parameters())
mse, ce, accuracy = evaluate()
print(f'restored epoch {best_epoch} ({snapshot.numel()} values, moved '
      f'{(last - snapshot).norm().item():.4f} since): val mse {mse:.4f} | val ce {ce:.4f} '
      f'| val accuracy {accuracy:.3f}')
print(f'weight decay groups: {[g["weight_decay"] for g in optimizer.param_groups]}, '
      f'final lr {[round(g["lr"], 7) for g in optimizer.param_groups]}')
