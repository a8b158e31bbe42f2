"""Image registration by a learned affine transform and a dense deformation field, in the
manner of VoxelMorph's spatial transformer (Balakrishnan et al., 2019, "VoxelMorph: A
Learning Framework for Deformable Medical Image Registration") but optimised per image
pair, written for the xpnn tests on made-up 32x32 images of Gaussian blobs.

Each moving image is its fixed image seen through a known affine map plus a smooth bump of
displacement. ``F.affine_grid`` turns the learned 2x3 matrices into sampling grids (a 3-D
grid is built once, its shape checked), a learned flow of shape (N, 2, H, W) is added to
them after a permute, and ``F.grid_sample(mode="bilinear", padding_mode="border")`` warps
the moving images. The affine stage fits the matrices alone by Adam on an MSE; the
deformable stage fits both by Adam on a negative normalised cross-correlation (NCC) plus a
smoothness penalty by finite differences of the flow. The registered images are then
resampled in every mode ("bilinear", "nearest", "bicubic"), padding mode ("zeros",
"border", "reflection") and both align_corners settings, and their errors printed.

    python tests/pytorch_programs/tutorials/grid_sample_registration.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(25)
rng = np.random.default_rng(25)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
N, S = 4, 32


def blobs(coords, centres, widths, weights):
    """A sum of Gaussian blobs evaluated at coords (..., 2) in [-1, 1] coordinates."""
    out = np.zeros(coords.shape[:-1])
    for c, w, a in zip(centres, widths, weights):
        out += a * np.exp(-((coords - c) ** 2).sum(-1) / (2 * w ** 2))
    return out


def make_pair():
    centres = rng.uniform(-0.5, 0.5, (5, 2))
    widths = rng.uniform(0.12, 0.25, 5)
    weights = rng.uniform(0.5, 1.0, 5)
    lin = (np.arange(S) * 2 + 1) / S - 1          # pixel centres (align_corners=False)
    ys, xs = np.meshgrid(lin, lin, indexing="ij")
    coords = np.stack([xs, ys], -1)                # grid_sample's (x, y) order
    fixed = blobs(coords, centres, widths, weights)
    angle = rng.uniform(-0.25, 0.25)
    scale = rng.uniform(0.9, 1.1)
    shift = rng.uniform(-0.1, 0.1, 2)
    rot = scale * np.array([[math.cos(angle), -math.sin(angle)],
                            [math.sin(angle), math.cos(angle)]])
    bump = 0.06 * np.exp(-((coords - rng.uniform(-0.3, 0.3, 2)) ** 2).sum(-1) / 0.08)
    # the moving image shows the fixed one's content at inverse-mapped places
    src = coords @ np.linalg.inv(rot).T - shift + bump[..., None]
    moving = blobs(src, centres, widths, weights)
    return fixed, moving


pairs = [make_pair() for _ in range(N)]
fixed = torch.tensor(np.stack([p[0] for p in pairs])[:, None], dtype=torch.float32,
                     device=device)
moving = torch.tensor(np.stack([p[1] for p in pairs])[:, None], dtype=torch.float32,
                      device=device)


class Registration(nn.Module):
    """Per-pair affine matrices and a dense displacement field (in grid units)."""

    def __init__(self, n, size):
        super().__init__()
        start = torch.tensor([[0.97, 0.01, 0.013], [-0.01, 1.03, -0.007]])
        self.theta = nn.Parameter(start.repeat(n, 1, 1))
        self.flow = nn.Parameter(torch.zeros(n, 2, size, size))

    def grid(self, shape, align_corners=False, deformable=True):
        grid = F.affine_grid(self.theta, shape, align_corners=align_corners)
        if deformable:
            grid = grid + self.flow.permute(0, 2, 3, 1)
        return grid

    def forward(self, image, deformable=True, mode="bilinear", padding_mode="border",
                align_corners=False):
        grid = self.grid(image.shape, align_corners, deformable)
        return F.grid_sample(image, grid, mode=mode, padding_mode=padding_mode,
                             align_corners=align_corners)


def ncc(a, b, eps=1e-5):
    a = a - a.mean(dim=(1, 2, 3), keepdim=True)
    b = b - b.mean(dim=(1, 2, 3), keepdim=True)
    num = (a * b).sum(dim=(1, 2, 3))
    den = torch.sqrt((a * a).sum(dim=(1, 2, 3)) * (b * b).sum(dim=(1, 2, 3)) + eps)
    return (num / den).mean()


def smoothness(flow):
    dy = flow[:, :, 1:, :] - flow[:, :, :-1, :]
    dx = flow[..., 1:] - flow[..., :-1]
    return (dy ** 2).mean() + (dx ** 2).mean()


model = Registration(N, S).to(device)
with torch.no_grad():
    start = F.mse_loss(model(moving, deformable=False), fixed).item()
print(f"before registration | mse {F.mse_loss(moving, fixed).item():.5f} | "
      f"at the starting affine {start:.5f}")

# a 3-D grid for a volume: (N, D, H, W, 3)
theta3 = torch.eye(3, 4).repeat(2, 1, 1)
grid3 = F.affine_grid(theta3, (2, 1, 5, 6, 7), align_corners=False)
print(f"3-D affine_grid shape {tuple(grid3.shape)}")

optimizer = torch.optim.Adam([model.theta], lr=1e-2)
for step in range(1, 81):
    optimizer.zero_grad()
    loss = F.mse_loss(model(moving, deformable=False), fixed)
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(f"affine step {step:3d} | mse {loss.item():.5f}")

optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(1, 121):
    optimizer.zero_grad()
    warped = model(moving)
    similarity = ncc(warped, fixed)
    penalty = smoothness(model.flow)
    loss = -similarity + 10.0 * penalty
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        mse = F.mse_loss(warped, fixed).item()
        print(f"deformable step {step:3d} | loss {loss.item():.5f} | ncc "
              f"{similarity.item():.5f} | smoothness {penalty.item():.7f} | mse {mse:.7f}")

print("learned affine of pair 0:", [round(v, 3) for v in model.theta[0].flatten().tolist()])
with torch.no_grad():
    for align_corners in (False, True):
        for mode in ("bilinear", "nearest", "bicubic"):
            errors = []
            for padding_mode in ("zeros", "border", "reflection"):
                out = model(moving, mode=mode, padding_mode=padding_mode,
                            align_corners=align_corners)
                errors.append(F.mse_loss(out, fixed).item())
            print(f"align_corners={align_corners!s:5} {mode:8} | zeros {errors[0]:.5f} | "
                  f"border {errors[1]:.5f} | reflection {errors[2]:.5f}")
    identity = torch.eye(2, 3).repeat(N, 1, 1)
    same = F.grid_sample(fixed, F.affine_grid(identity, fixed.shape, align_corners=True),
                         mode="bilinear", align_corners=True)
    print(f"identity grid reproduces the image: {torch.allclose(same, fixed, atol=1e-5)}")
