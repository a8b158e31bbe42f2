"""Pruning and fine-tuning a small CNN, written for the xpnn tests after PyTorch's pruning
tutorial, on 320 made-up 1x12x12 images of 4 classes (a bright bar in one of four places,
under noise).

After 4 epochs of training, ``torch.nn.utils.prune.global_unstructured`` with
``prune.L1Unstructured`` removes the 60% smallest weights across all four layers at once,
and ``prune.ln_structured`` then removes a quarter of the second convolution's output
channels by their L2 norm. The sparsity per layer is printed from the ``weight_mask``
buffers and the masked ``weight``; the network is fine-tuned for 2 epochs with the masks in
place, ``prune.remove`` makes the pruning permanent, and the state_dict goes through an
``io.BytesIO`` to a fresh model. Accuracies before pruning, after it, and after fine-tuning.

    python tests/pytorch_programs/tutorials/pruning_finetune.py
"""
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(9)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

n_classes, n_per_class, size = 4, 80, 12
images = torch.randn(n_classes * n_per_class, 1, size, size)
labels = torch.arange(n_classes).repeat_interleave(n_per_class)
for i, c in enumerate(labels.tolist()):
    images[i, 0, 2 + 2 * c:4 + 2 * c, 2:10] += 1.0
is_test = torch.arange(len(labels)) % 5 == 0
train_loader = DataLoader(TensorDataset(images[~is_test], labels[~is_test]), batch_size=32,
                          shuffle=True)
test_loader = DataLoader(TensorDataset(images[is_test], labels[is_test]), batch_size=64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 3 * 3, 32)
        self.fc2 = nn.Linear(32, n_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def train(model, optimizer, epoch):
    model.train()
    total = 0.0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    print(f'epoch {epoch} | train loss {total / len(train_loader.dataset):.4f}')


def test(model, when):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for xb, yb in test_loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss += F.cross_entropy(out, yb, reduction='sum').item()
            correct += (out.argmax(dim=1) == yb).sum().item()
    n = len(test_loader.dataset)
    print(f'{when}: test loss {loss / n:.4f} | accuracy {correct}/{n} ({100 * correct / n:.1f}%)')
    return correct


model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
test(model, 'untrained')
for epoch in range(1, 5):
    train(model, optimizer, epoch)
test(model, 'trained')

parameters_to_prune = [(model.conv1, 'weight'), (model.conv2, 'weight'),
                       (model.fc1, 'weight'), (model.fc2, 'weight')]
prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                          amount=0.6)
prune.ln_structured(model.conv2, name='weight', amount=0.25, n=2, dim=0)
print('parameters:', [name for name, _ in model.named_parameters()])
print('buffers:', [name for name, _ in model.named_buffers()])
print('pruning hooks on conv2:',
      [type(h).__name__ for h in model.conv2._forward_pre_hooks.values()])


def report_sparsity(model):
    zeros, total = 0, 0
    for name, module in model.named_modules():
        if hasattr(module, 'weight_mask'):
            n_zero = int(torch.sum(module.weight == 0))
            masked = float(torch.sum(module.weight_mask == 0)) / module.weight_mask.nelement()
            print(f'  {name}: sparsity {100.0 * n_zero / module.weight.nelement():.2f}% '
                  f'(mask {100.0 * masked:.2f}%)')
            zeros += n_zero
            total += module.weight.nelement()
    print(f'  global sparsity {100.0 * zeros / total:.2f}%')


report_sparsity(model)
channels_alive = (model.conv2.weight.abs().sum(dim=(1, 2, 3)) > 0).sum()
print(f'conv2 output channels left: {channels_alive.item()} of {model.conv2.out_channels}')
test(model, 'pruned')

optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
for epoch in range(5, 7):
    train(model, optimizer, epoch)
report_sparsity(model)
test(model, 'fine-tuned')

for module, name in parameters_to_prune:
    prune.remove(module, name)
print('after prune.remove:', sorted(model.state_dict().keys()))

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
restored = Net().to(device)
restored.load_state_dict(torch.load(buffer))
zeros = sum(int((p == 0).sum()) for n, p in restored.named_parameters() if n.endswith('weight'))
flat = torch.nn.utils.parameters_to_vector(restored.parameters())
print(f'restored model: {zeros} zero weights of {flat.numel()} parameters '
      f'({100.0 * (flat == 0).float().mean().item():.2f}% zero), '
      f'saved {buffer.getbuffer().nbytes > 0}')
test(restored, 'restored')
