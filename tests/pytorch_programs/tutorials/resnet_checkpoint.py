"""A tiny ResNet trained with a checkpoint taken mid-way, written for the xpnn tests, on 256
made-up 1x12x12 images of 4 classes (a bright bar in one of four places, under noise).

Two residual blocks (Conv2d, BatchNorm2d, ReLU, with a 1x1 convolution on the shortcut
where the shape changes), AdaptiveAvgPool2d and Linear; SGD with Nesterov momentum and
weight decay under a OneCycleLR schedule stepped every batch. After 3 epochs a checkpoint
dict (model, optimizer, scheduler, epoch) goes to disk with ``torch.save``; a fresh model,
optimizer and scheduler load it with ``torch.load`` and train 3 more epochs.

    python tests/pytorch_programs/tutorials/resnet_checkpoint.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(8)

n_classes, n_per_class, size = 4, 64, 12
images = 0.8 * torch.randn(n_classes * n_per_class, 1, size, size)
labels = torch.arange(n_classes).repeat_interleave(n_per_class)
for i, c in enumerate(labels.tolist()):
    images[i, 0, 2 + 2 * c:4 + 2 * c, 2:10] += 1.5
loader = DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=True)
epochs, steps_per_epoch = 6, len(loader)


class BasicBlock(nn.Module):
    def __init__(self, n_in, n_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(n_in, n_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(n_out)
        self.conv2 = nn.Conv2d(n_out, n_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(n_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or n_in != n_out:
            self.shortcut = nn.Sequential(nn.Conv2d(n_in, n_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(n_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class TinyResNet(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True))
        self.layer1 = BasicBlock(8, 8)
        self.layer2 = BasicBlock(8, 16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, n_classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def make(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs,
                                                    steps_per_epoch=steps_per_epoch)
    return optimizer, scheduler


def train_epoch(model, optimizer, scheduler, epoch):
    model.train()
    total, correct = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(xb)
        correct += (out.argmax(1) == yb).sum().item()
    print('epoch {} | loss {:.4f} | accuracy {}/{} | lr {:.5f}'.format(
        epoch, total / len(labels), correct, len(labels), scheduler.get_last_lr()[0]))


model = TinyResNet(n_classes)
optimizer, scheduler = make(model)
print(optimizer)
print('initial lr {:.5f}'.format(scheduler.get_last_lr()[0]))
for epoch in range(1, 4):
    train_epoch(model, optimizer, scheduler, epoch)

torch.save({'epoch': 3, 'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
            'scheduler': scheduler.state_dict()}, 'checkpoint.pt')
checkpoint = torch.load('checkpoint.pt')
print('checkpoint:', sorted(checkpoint), 'epoch', checkpoint['epoch'],
      'optimizer state', len(checkpoint['optimizer']['state']))

model = TinyResNet(n_classes)
model.load_state_dict(checkpoint['model'])
optimizer, scheduler = make(model)
optimizer.load_state_dict(checkpoint['optimizer'])
scheduler.load_state_dict(checkpoint['scheduler'])
print('resumed at epoch {} with lr {:.5f}'.format(checkpoint['epoch'], scheduler.get_last_lr()[0]))
for epoch in range(checkpoint['epoch'] + 1, epochs + 1):
    train_epoch(model, optimizer, scheduler, epoch)

model.eval()
with torch.no_grad():
    out = model(images)
print('eval loss {:.4f} | accuracy {}/{}'.format(F.cross_entropy(out, labels).item(),
                                                (out.argmax(1) == labels).sum().item(), len(labels)))
