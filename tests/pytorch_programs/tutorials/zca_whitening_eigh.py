"""Differentiable whitening (Huang et al., 2018, "Decorrelated Batch Normalization"; the
Newton-Schulz form of "Iterative Normalization", 2019), written for the xpnn tests on
made-up images, with PCA compression and a least-squares linear probe beside it.

A small CNN pools its conv features to a vector per image, and a whitening layer
decorrelates them over the batch: ZCA by ``torch.linalg.eigh`` of the covariance (the
loss backpropagates through the eigendecomposition), Sigma^-1/2 = U diag(lambda^-1/2) U^T,
or coupled Newton-Schulz iterations of matmuls on the trace-normalised covariance. Running mean and
covariance buffers serve eval mode. After training on ZCA, the two whitening matrices of
one batch are compared and the last epochs train on Newton-Schulz.

Beside the network: PCA of the flattened images by ``torch.linalg.svd(full_matrices=False)``,
the reconstruction error at a few ranks by ``torch.linalg.norm(ord="fro")``, and a linear
probe on the PCA codes fitted by ``torch.linalg.lstsq`` against one-hot labels.

    python tests/pytorch_programs/tutorials/zca_whitening_eigh.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
rng = np.random.default_rng(5)

n_classes, side = 3, 8


def make_images(count):
    y = rng.integers(0, n_classes, count)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    base = np.stack([np.sin(ii * 1.3), np.sin(jj * 1.3), np.sin((ii + jj) * 0.9)])
    phase = rng.uniform(0.5, 1.5, (count, 1, 1))
    x = base[y] * phase + 0.6 * rng.standard_normal((count, side, side))
    return torch.from_numpy(x[:, None].astype(np.float32)), torch.from_numpy(y)


def zca_matrix(cov, eps):
    evals, evecs = torch.linalg.eigh(cov)
    return evecs @ torch.diag(torch.rsqrt(evals + eps)) @ evecs.T


def newton_schulz_matrix(cov, eps, iters=8):
    d = cov.shape[0]
    eye = torch.eye(d)
    cov = cov + eps * eye
    trace = cov.trace()
    y, z = cov / trace, eye
    for _ in range(iters):
        t = 0.5 * (3 * eye - z @ y)
        y, z = y @ t, t @ z
    return z / trace.sqrt()


class Whitening(nn.Module):
    def __init__(self, dim, eps=1e-3, momentum=0.1, method="zca"):
        super().__init__()
        self.eps, self.momentum, self.method = eps, momentum, method
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_cov", torch.eye(dim))

    def matrix(self, cov):
        if self.method == "zca":
            return zca_matrix(cov, self.eps)
        return newton_schulz_matrix(cov, self.eps)

    def forward(self, x):
        if self.training:
            mean = x.mean(0)
            xc = x - mean
            cov = xc.T @ xc / x.shape[0]
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_cov.lerp_(cov, self.momentum)
        else:
            xc = x - self.running_mean
            cov = self.running_cov
        return xc @ self.matrix(cov)


class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.whiten = Whitening(width)
        self.head = nn.Linear(width, n_classes)

    def features(self, x):
        h = F.relu(self.conv1(x))
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return h.mean(dim=(2, 3))

    def forward(self, x):
        return self.head(self.whiten(self.features(x)))


train_x, train_y = make_images(384)
test_x, test_y = make_images(192)

# PCA of the flattened images and a least-squares linear probe on the codes
flat = train_x.flatten(1)
mean = flat.mean(0, keepdim=True)
U, S, Vh = torch.linalg.svd(flat - mean, full_matrices=False)
print("svd shapes", tuple(U.shape), tuple(S.shape), tuple(Vh.shape))
total = torch.linalg.norm(flat - mean, ord="fro")
for k in (2, 8, 32):
    recon = (flat - mean) @ Vh[:k].T @ Vh[:k]
    err = torch.linalg.norm(flat - mean - recon, ord="fro") / total
    print(f"pca rank {k} | relative error {err.item():.4f} "
          f"| energy kept {(S[:k] ** 2).sum().item() / (S ** 2).sum().item():.4f}")
k = 8
codes = torch.cat([(flat - mean) @ Vh[:k].T, torch.ones(len(flat), 1)], dim=1)
targets = F.one_hot(train_y, n_classes).float()
W = torch.linalg.lstsq(codes, targets).solution
test_codes = torch.cat([(test_x.flatten(1) - mean) @ Vh[:k].T, torch.ones(len(test_x), 1)], 1)
probe_acc = ((test_codes @ W).argmax(1) == test_y).float().mean()
print(f"lstsq probe: W {tuple(W.shape)} | residual {torch.linalg.norm(codes @ W - targets).item():.4f}"
      f" | test accuracy {probe_acc.item():.4f}")

model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)

batch = 48
for epoch in range(1, 9):
    if epoch == 7:
        model.train()
        feats = model.features(train_x[:batch])
        xc = feats - feats.mean(0)
        cov = xc.T @ xc / batch
        zca = zca_matrix(cov, model.whiten.eps)
        ns = newton_schulz_matrix(cov, model.whiten.eps, iters=30)
        white = xc @ zca
        wcov = white.T @ white / batch
        print(f"zca = newton-schulz: {torch.allclose(zca, ns, rtol=1e-3, atol=1e-3)}"
              f" | whitened cov off identity {torch.linalg.norm(wcov - torch.eye(len(wcov)), ord='fro').item():.4f}")
        model.whiten.method = "ns"
    model.train()
    perm = torch.from_numpy(rng.permutation(len(train_x)))
    total = 0.0
    for i in range(0, len(train_x), batch):
        idx = perm[i:i + batch]
        loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    model.eval()
    with torch.no_grad():
        logits = model(test_x)
        test_loss = F.cross_entropy(logits, test_y).item()
        acc = (logits.argmax(1) == test_y).float().mean().item()
    print(f"epoch {epoch} ({model.whiten.method}) | train loss {total / len(train_x):.4f} "
          f"| test loss {test_loss:.4f} | test accuracy {acc:.4f}")
