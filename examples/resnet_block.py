"""A residual block (He et al. 2016, "Deep Residual Learning", the basic block) composed from
xpnn Modules, a small ResNet built from it, and a short training run on the 8x8 digits.

    python examples/resnet_block.py [--epochs 30] [--backend numpy]

    y = ReLU( BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x) )

The shortcut is the identity, or a strided 1x1 conv + BN when the block changes the number
of channels or the resolution. The L2 penalty on the conv weights comes from
``F.l2_penalty`` (the same gradient as SGD's weight decay). Prints the test accuracy and
checks that the block's output matches the same block written in PyTorch (if installed).
"""
import argparse
import sys

import numpy as np

import xpnn
import xpnn.functional as F
from xpnn import nn, optim
from xpnn.data import DataLoader, digits


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a skip connection around them.

    Args:
        c_in, c_out: channels in and out.
        stride: 2 halves the resolution (in the first conv and in the shortcut).
    Shapes: (N, c_in, H, W) -> (N, c_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:  # project x to the new shape ("option B")
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + self.shortcut(x))


def small_resnet(width=16, classes=10):
    """stem conv -> 2 stages of 2 BasicBlocks (the second stage halves the resolution and
    doubles the channels) -> global average pool -> dense."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        BasicBlock(width, width), BasicBlock(width, width),
        BasicBlock(width, 2 * width, stride=2), BasicBlock(2 * width, 2 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes))


def check_against_torch():
    """Load the block's weights into the same block written with torch.nn: same output."""
    try:
        import torch
    except ImportError:
        return None
    block = BasicBlock(4, 8, stride=2)
    tb = torch.nn.ModuleDict({
        "conv1": torch.nn.Conv2d(4, 8, 3, 2, 1, bias=False), "bn1": torch.nn.BatchNorm2d(8),
        "conv2": torch.nn.Conv2d(8, 8, 3, 1, 1, bias=False), "bn2": torch.nn.BatchNorm2d(8),
        "shortcut": torch.nn.Sequential(torch.nn.Conv2d(4, 8, 1, 2, bias=False),
                                        torch.nn.BatchNorm2d(8))})
    tb.load_state_dict({k: torch.tensor(xpnn.to_numpy(v)) for k, v in
                        block.state_dict().items()})
    X = np.random.default_rng(0).standard_normal((2, 4, 7, 7)).astype(np.float32)
    tx = torch.tensor(X)
    h = torch.relu(tb["bn1"](tb["conv1"](tx)))
    want = torch.relu(tb["bn2"](tb["conv2"](h)) + tb["shortcut"](tx)).detach().numpy()
    got = block(xpnn.tensor(X)).numpy()
    return float(np.abs(got - want).max())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    p.add_argument("--backend", default="numpy")
    p.add_argument("--device", default=None)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--l2", type=float, default=5e-4, help="L2 penalty on conv/dense weights")
    args = p.parse_args(argv)
    xpnn.manual_seed(0)
    diff = check_against_torch()
    if diff is not None:
        print(f"BasicBlock vs the same block in PyTorch: max |diff| = {diff:.2e}")
    (X_train, y_train), (X_test, y_test) = digits(test_size=0.2, seed=0, flatten=False)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    model = small_resnet().to(args.backend, args.device)
    print(f"{model.num_parameters()} parameters")
    train = DataLoader(X_train, y_train, batch_size=32, shuffle=True, backend=args.backend,
                       device=args.device, seed=0)
    test = DataLoader(X_test, y_test, batch_size=512, backend=args.backend, device=args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train))

    def loss(out, target):  # any loss + a penalty: the regularizer is just another term
        return F.cross_entropy(out, target) + F.l2_penalty(model, args.l2, skip_1d=True)

    xpnn.fit(model, train, loss=loss, optimizer=opt, epochs=args.epochs,
             callbacks=[xpnn.callbacks.LearningRateScheduler(sched, "step")],
             progress=sys.stderr.isatty())
    res = xpnn.evaluate(model, test, F.cross_entropy)
    print(f"test accuracy: {res['accuracy']:.4f} "
          f"({round(res['accuracy'] * len(y_test))}/{len(y_test)})")
    return res["accuracy"]


if __name__ == "__main__":
    main()
