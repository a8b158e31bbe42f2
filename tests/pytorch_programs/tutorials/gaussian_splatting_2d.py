"""An image fitted by 2-D Gaussian splats, after 3D Gaussian Splatting (Kerbl et al., 2023,
"3D Gaussian Splatting for Real-Time Radiance Field Rendering") brought down to the plane,
written for the xpnn tests on a made-up 24x24 RGB picture.

Each of K Gaussians has a centre in 3-D (projected orthographically: its z is only a depth),
two log-scales, a rotation angle, an RGB colour (through a sigmoid) and an opacity logit.
Its covariance is R S S^T R^T, the rotation matrix R stacked from cos and sin of the angle
by ``torch.stack`` and S = diag(exp(scale)); the inverse comes from ``torch.linalg.inv``
(checked once against the adjugate over ``torch.linalg.det``), and the determinant gives
each splat's footprint. On a pixel grid from ``torch.meshgrid(indexing="ij")`` a splat's
weight is opacity * exp(-0.5 d^T Sigma^-1 d), clamped below 0.99. The splats are put in
depth order by ``argsort`` and ``gather`` and composited front to back: the transmittance
before each splat is an exclusive ``torch.cumprod`` of (1 - alpha), a row of ones put in
front by ``torch.cat``. The loss is 0.8 MSE + 0.2 L1; Adam has one parameter group per kind
of parameter, each with its own learning rate. The loss and the PSNR are printed as the fit
goes.

    python tests/pytorch_programs/tutorials/gaussian_splatting_2d.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
rng = np.random.default_rng(5)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
H = W = 24
K = 48


def make_target():
    """A sky gradient, a red disc, a tilted green bar and a blue square."""
    yy, xx = np.meshgrid(np.linspace(0, 1, H), np.linspace(0, 1, W), indexing="ij")
    img = np.zeros((H, W, 3))
    img[..., 2] = 0.3 + 0.4 * (1 - yy)
    img[..., 1] = 0.2 * (1 - yy)
    disc = (yy - 0.35) ** 2 + (xx - 0.3) ** 2 < 0.04
    img[disc] = [0.9, 0.15, 0.1]
    bar = np.abs((yy - 0.7) - 0.5 * (xx - 0.6)) < 0.06
    img[bar & (xx > 0.3)] = [0.1, 0.8, 0.2]
    square = (np.abs(yy - 0.25) < 0.1) & (np.abs(xx - 0.75) < 0.1)
    img[square] = [0.2, 0.3, 0.95]
    return torch.tensor(img, dtype=torch.float32, device=device)


class Splats(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.means = nn.Parameter(torch.rand(k, 3))    # x, y on the image plane and a depth z
        self.log_scales = nn.Parameter(torch.full((k, 2), math.log(0.08)))
        self.angles = nn.Parameter(torch.rand(k) * math.pi)
        self.color_logits = nn.Parameter(torch.randn(k, 3) * 0.5)
        self.opacity_logits = nn.Parameter(torch.zeros(k))

    def covariances(self):
        c, s = torch.cos(self.angles), torch.sin(self.angles)
        R = torch.stack([torch.stack([c, -s], dim=-1), torch.stack([s, c], dim=-1)], dim=-2)
        S = torch.diag_embed(torch.exp(self.log_scales))
        RS = R @ S
        return RS @ RS.transpose(-1, -2)

    def forward(self, pixels):
        """pixels: (P, 2) coordinates in [0, 1]^2 -> (P, 3) colours."""
        sigma = self.covariances()
        inv = torch.linalg.inv(sigma)                                   # (K, 2, 2)
        d = pixels[None, :, :] - self.means[:, None, :2]                # (K, P, 2)
        maha = ((d @ inv) * d).sum(dim=-1)                              # d^T Sigma^-1 d
        alpha = torch.sigmoid(self.opacity_logits)[:, None] * torch.exp(-0.5 * maha)
        alpha = alpha.clamp(max=0.99)
        colors = torch.sigmoid(self.color_logits)                       # (K, 3)
        order = torch.argsort(self.means[:, 2])                         # near to far
        alpha = alpha.gather(0, order[:, None].expand(-1, alpha.shape[1]))
        colors = colors.gather(0, order[:, None].expand(-1, 3))
        ones = torch.ones(1, alpha.shape[1], device=alpha.device)
        transmittance = torch.cumprod(torch.cat([ones, 1 - alpha[:-1]], dim=0), dim=0)
        weights = transmittance * alpha                                 # (K, P)
        return weights.t() @ colors


target = make_target()
ys, xs = torch.meshgrid(torch.linspace(0, 1, H, device=device),
                        torch.linspace(0, 1, W, device=device), indexing="ij")
pixels = torch.stack([ys.reshape(-1), xs.reshape(-1)], dim=1)
target_flat = target.reshape(-1, 3)

model = Splats(K).to(device)
with torch.no_grad():  # the inverse against the adjugate over the determinant
    sigma = model.covariances()
    det = torch.linalg.det(sigma)
    adj = torch.stack([torch.stack([sigma[:, 1, 1], -sigma[:, 0, 1]], dim=-1),
                       torch.stack([-sigma[:, 1, 0], sigma[:, 0, 0]], dim=-1)], dim=-2)
    err = (torch.linalg.inv(sigma) - adj / det[:, None, None]).abs().max() / (1 / det).max()
    print(f"inverse agrees with adjugate / det: {bool(err < 1e-4)}")

optimizer = torch.optim.Adam([
    {"params": [model.means], "lr": 0.01},
    {"params": [model.log_scales], "lr": 0.03},
    {"params": [model.angles], "lr": 0.05},
    {"params": [model.color_logits], "lr": 0.05},
    {"params": [model.opacity_logits], "lr": 0.05},
])

for step in range(1, 201):
    optimizer.zero_grad()
    image = model(pixels).clamp(0, 1)
    mse = F.mse_loss(image, target_flat)
    loss = 0.8 * mse + 0.2 * F.l1_loss(image, target_flat)
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        psnr = 10 * torch.log10(1.0 / mse.detach())
        print(f"step {step:3d} | loss {loss.item():.5f} | PSNR {psnr.item():.2f} dB")

with torch.no_grad():
    footprint = torch.sqrt(torch.linalg.det(model.covariances())) * math.pi
    print(f"mean splat footprint {footprint.mean().item():.5f} | "
          f"mean opacity {torch.sigmoid(model.opacity_logits).mean().item():.4f}")
