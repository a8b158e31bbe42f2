"""pytorch/tutorials intermediate_source/spatial_transformer_tutorial.py, written small for
the xpnn tests: 10 classes of random 28x28 "digits" (a random template per class, plus
noise) instead of MNIST.

The localization network (Conv2d, MaxPool2d, ReLU) and fc_loc regress the 2x3 affine
matrix, its last Linear starting at zero weight and the identity bias;
``F.affine_grid(theta, x.size())`` and ``F.grid_sample(x, grid)`` warp the input, and a
small classifier with dropout reads it (``F.log_softmax``, ``F.nll_loss``, SGD).

    python tests/pytorch_programs/tutorials/spatial_transformer.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)
device = torch.device("cpu")

# 10 templates; each image is its class's template, shifted a little, plus noise
templates = F.avg_pool2d(torch.randn(10, 1, 32, 32), 3, stride=1, padding=1)


def make_set(n):
    target = torch.arange(n) % 10
    data = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        dy, dx = i % 5, (i // 5) % 5
        data[i] = templates[target[i], :, dy:dy + 28, dx:dx + 28]
    data = data * 3 + 0.5 * torch.randn(n, 1, 28, 28)
    return torch.utils.data.TensorDataset(data, target)


train_loader = torch.utils.data.DataLoader(make_set(320), batch_size=32, shuffle=True)
test_loader = torch.utils.data.DataLoader(make_set(100), batch_size=50, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

        # Spatial transformer localization-network
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )

        # Regressor for the 3 * 2 affine matrix
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )

        # Initialize the weights/bias with identity transformation
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    # Spatial transformer network forward function
    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)

        grid = F.affine_grid(theta, x.size())
        x = F.grid_sample(x, grid)

        return x

    def forward(self, x):
        # transform the input
        x = self.stn(x)

        # Perform the usual forward pass
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


model = Net().to(device)
optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.5)
log_interval = 1


def train(epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)

        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test():
    with torch.no_grad():
        model.eval()
        test_loss = 0
        correct = 0
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)

            # sum up batch loss
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            # get the index of the max log-probability
            pred = output.max(1, keepdim=True)[1]
            correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)
        print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'
              .format(test_loss, correct, len(test_loader.dataset),
                      100. * correct / len(test_loader.dataset)))


for epoch in range(1, 3 + 1):
    train(epoch)
    test()

with torch.no_grad():
    data = next(iter(test_loader))[0][:4]
    warped = model.stn(data)
print('warped:', tuple(warped.shape))
