"""Learning correspondence weights for a differentiable orthogonal Procrustes step (the
weighted Kabsch / Procrustes solution of Schonemann, 1966, used as a layer as in Deep Global
Registration and 3DRegNet), written for the xpnn tests on made-up point clouds.

Each sample is a cloud of 24 points A and its rotated, shifted copy B, where a third of the
correspondences are outliers (B's point replaced by a random one). A small network scores
every correspondence from rotation-invariant evidence (the sorted discrepancies between A's
and B's pairwise distances, by ``torch.cdist``) and the scores become weights of a
Procrustes step: weighted centring, a 3x3 cross-covariance, ``torch.linalg.svd(
full_matrices=False)``, a reflection fix by the sign of ``torch.linalg.det`` through
``torch.diag_embed``, the rotation U diag(1, 1, d) V^T and the translation. The loss is the
alignment error of the inliers plus the rotation's Frobenius error, backpropagated through
the SVD. Adam; the loss and the test rotation error in degrees are printed per epoch.

After training, the inliers the network trusts are fitted by a general affine map with
``torch.linalg.lstsq`` on homogeneous coordinates, and a ridge regression is solved by a
``torch.linalg.cholesky`` factor and two ``torch.linalg.solve_triangular`` calls, checked
against ``torch.linalg.solve``.

    python tests/pytorch_programs/tutorials/procrustes_svd_alignment.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

N_POINTS, OUTLIERS = 24, 8


def random_rotation():
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def make_data(count):
    a = rng.standard_normal((count, N_POINTS, 3))
    rots = np.stack([random_rotation() for _ in range(count)])
    shift = rng.standard_normal((count, 1, 3))
    b = a @ rots.transpose(0, 2, 1) + shift + 0.02 * rng.standard_normal(a.shape)
    inlier = np.ones((count, N_POINTS), dtype=bool)
    for i in range(count):
        bad = rng.choice(N_POINTS, OUTLIERS, replace=False)
        b[i, bad] = 2.0 * rng.standard_normal((OUTLIERS, 3))
        inlier[i, bad] = False
    as_t = lambda v: torch.tensor(v, dtype=torch.float32)
    return as_t(a), as_t(b), as_t(rots), torch.tensor(inlier)


def weighted_procrustes(a, b, w):
    """The rotation R and shift t minimising sum_i w_i |R a_i + t - b_i|^2.

    a, b: (batch, n, 3); w: (batch, n). Returns R (batch, 3, 3) and t (batch, 3).
    """
    w = w / w.sum(dim=1, keepdim=True)
    mean_a = (w.unsqueeze(-1) * a).sum(dim=1)
    mean_b = (w.unsqueeze(-1) * b).sum(dim=1)
    a0, b0 = a - mean_a.unsqueeze(1), b - mean_b.unsqueeze(1)
    cov = b0.transpose(1, 2) @ (w.unsqueeze(-1) * a0)        # (batch, 3, 3)
    u, s, vh = torch.linalg.svd(cov, full_matrices=False)
    d = torch.sign(torch.linalg.det(u @ vh))
    ones = torch.ones_like(d)
    fix = torch.diag_embed(torch.stack([ones, ones, d], dim=-1))
    rot = u @ fix @ vh
    shift = mean_b - (rot @ mean_a.unsqueeze(-1)).squeeze(-1)
    return rot, shift


class WeightNet(nn.Module):
    """Scores each correspondence from its sorted pairwise-distance discrepancies."""

    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(N_POINTS, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, a, b):
        gap = (torch.cdist(a, a) - torch.cdist(b, b)).abs()
        evidence, _ = torch.sort(gap, dim=-1)
        return torch.sigmoid(self.net(evidence).squeeze(-1))


def rotation_degrees(rot, true):
    """The angle between two rotations from |R1 - R2|_F = 2 sqrt(2) sin(angle / 2) (acos of
    the trace would lose the small angles to rounding)."""
    chord = torch.linalg.matrix_norm(rot - true) / (2 * 2 ** 0.5)
    return torch.rad2deg(2 * torch.asin(chord.clamp(max=1.0)))


def loss_fn(a, b, rot_true, inlier, w):
    rot, shift = weighted_procrustes(a, b, w)
    moved = a @ rot.transpose(1, 2) + shift.unsqueeze(1)
    mask = inlier.float()
    align = (((moved - b) ** 2).sum(-1) * mask).sum() / mask.sum()
    return align + ((rot - rot_true) ** 2).sum(dim=(1, 2)).mean(), rot


train = make_data(256)
test = make_data(64)
a, b, rot_true, inlier = test
uniform = torch.ones(a.shape[:2])
with torch.no_grad():
    rot_plain, _ = weighted_procrustes(a, b, uniform)
    clean, _ = weighted_procrustes(a, b, inlier.float())
print(f'unweighted procrustes error {rotation_degrees(rot_plain, rot_true).mean().item():.3f} '
      f'deg | oracle weights {rotation_degrees(clean, rot_true).mean().item():.4f} deg')
print(f'rotation det ok: {torch.allclose(torch.linalg.det(clean), torch.ones(64), atol=1e-5)}')

model = WeightNet().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
loader = DataLoader(TensorDataset(*train), batch_size=32, shuffle=True)

for epoch in range(1, 7):
    total = 0.0
    for xa, xb, xr, xi in loader:
        w = model(xa.to(device), xb.to(device))
        loss, _ = loss_fn(xa.to(device), xb.to(device), xr.to(device), xi.to(device), w)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        w = model(a.to(device), b.to(device))
        test_loss, rot = loss_fn(a.to(device), b.to(device), rot_true.to(device),
                                 inlier.to(device), w)
        degrees = rotation_degrees(rot, rot_true.to(device)).mean().item()
        outlier_w = w[~inlier.to(device)].mean().item()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss '
          f'{test_loss.item():.4f} | rotation error {degrees:.3f} deg | '
          f'outlier weight {outlier_w:.3f}')

# an affine fit of the trusted correspondences of the first test cloud by least squares
with torch.no_grad():
    w = model(a[:1].to(device), b[:1].to(device))[0]
keep = w > 0.5 * w.max()
homog = torch.cat([a[0][keep], torch.ones(int(keep.sum().item()), 1)], dim=1)
affine = torch.linalg.lstsq(homog, b[0][keep]).solution           # (4, 3)
fit_err = (homog @ affine - b[0][keep]).pow(2).sum(-1).mean().item()
print(f'kept {int(keep.sum().item())} of {N_POINTS} | affine fit mse {fit_err:.5f} | '
      f'linear part vs rotation {(affine[:3].T - rot_true[0]).abs().max().item():.4f}')

# ridge regression by a Cholesky factor and two triangular solves
x = a.reshape(-1, 3)[:200]
y = (x @ torch.tensor([[0.5], [-1.0], [2.0]]) + 0.1 * b.reshape(-1, 3)[:200, :1])
gram = x.T @ x + 0.3 * torch.eye(3)
chol = torch.linalg.cholesky(gram)
half = torch.linalg.solve_triangular(chol, x.T @ y, upper=False)
ridge = torch.linalg.solve_triangular(chol.T, half, upper=True)
direct = torch.linalg.solve(gram, x.T @ y)
print(f'ridge weights {[round(v, 4) for v in ridge.squeeze(1).tolist()]} | matches solve: '
      f'{torch.allclose(ridge, direct, atol=1e-5)}')
