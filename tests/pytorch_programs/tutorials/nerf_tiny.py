"""A tiny NeRF (Mildenhall et al., 2020, "NeRF: Representing Scenes as Neural Radiance
Fields for View Synthesis"), written for the xpnn tests after the paper's renderer, on a
made-up scene of three coloured spheres seen by a pinhole camera.

The target image is rendered analytically: each ray from ``torch.meshgrid(...,
indexing="ij")`` pixel coordinates meets the spheres at the nearest root of a quadratic
(``torch.where`` over hits, a Lambert shade). The network sees 3-D points through a
positional encoding (``torch.sin``/``torch.cos`` of 2**k x joined by ``torch.cat``) and
predicts a density (``F.softplus``) and a colour (``torch.sigmoid``). Rays are sampled at
stratified depths (``torch.linspace`` bins jittered by ``torch.rand``) and rendered by
volume rendering: alpha = 1 - exp(-sigma delta), an exclusive transmittance by
``torch.cumprod`` of ``torch.cat([ones, 1 - alpha + 1e-10], -1)[..., :-1]``, weights and
(weights[..., None] * rgb).sum(-2). A fine pass draws more depths from the coarse weights'
pdf (``torch.cumsum``, ``torch.searchsorted(cdf, u, right=True)``, ``clamp``,
``torch.gather``), merged with the coarse ones by ``torch.sort``. Adam on the MSE of both
passes; the PSNR -10 log10(mse) of the whole image is printed.

    python tests/pytorch_programs/tutorials/nerf_tiny.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

H = W = 12
near, far = 1.0, 4.0
n_coarse, n_fine = 16, 16
focal = 1.2 * W

# the scene: (centre, radius, colour) of each sphere
centres = torch.tensor([[-0.5, -0.3, 2.6], [0.55, 0.1, 2.4], [0.0, 0.5, 3.0]])
radii = torch.tensor([0.45, 0.4, 0.5])
colours = torch.tensor([[0.9, 0.2, 0.2], [0.2, 0.8, 0.3], [0.2, 0.3, 0.9]])
light = F.normalize(torch.tensor([-0.4, -0.6, -1.0]), dim=0)


def camera_rays():
    i, j = torch.meshgrid(torch.arange(H, dtype=torch.float32),
                          torch.arange(W, dtype=torch.float32), indexing="ij")
    dirs = torch.stack([(j - W / 2 + 0.5) / focal, (i - H / 2 + 0.5) / focal,
                        torch.ones_like(i)], -1)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    origins = torch.zeros_like(dirs)
    return origins.reshape(-1, 3), dirs.reshape(-1, 3)


def render_scene(origins, dirs):
    """The analytic image: the nearest sphere hit per ray, Lambert-shaded, black elsewhere."""
    oc = origins[:, None, :] - centres[None]                 # (R, S, 3)
    b = (oc * dirs[:, None, :]).sum(-1)
    c = (oc * oc).sum(-1) - radii ** 2
    disc = b * b - c
    hit = disc > 0
    t = -b - torch.sqrt(torch.clamp(disc, min=0.0))
    t = torch.where(hit & (t > 0), t, torch.full_like(t, float('inf')))
    t_near, which = t.min(dim=1)
    point = origins + t_near.clamp(max=100.0)[:, None] * dirs
    normal = F.normalize(point - centres[which], dim=-1)
    shade = 0.3 + 0.7 * (normal * -light).sum(-1).clamp(min=0.0)
    rgb = colours[which] * shade[:, None]
    return torch.where(torch.isfinite(t_near)[:, None], rgb, torch.zeros_like(rgb))


def positional_encoding(x, n_freqs):
    out = [x]
    for k in range(n_freqs):
        out += [torch.sin(2.0 ** k * x), torch.cos(2.0 ** k * x)]
    return torch.cat(out, dim=-1)


class TinyNeRF(nn.Module):
    def __init__(self, n_freqs=4, hidden=64):
        super().__init__()
        self.n_freqs = n_freqs
        d_in = 3 + 6 * n_freqs
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU())
        self.sigma = nn.Linear(hidden, 1)
        self.rgb = nn.Linear(hidden, 3)

    def forward(self, points):
        h = self.net(positional_encoding(points, self.n_freqs))
        return F.softplus(self.sigma(h).squeeze(-1) - 1.0), torch.sigmoid(self.rgb(h))


def stratified_depths(n_rays, n, jitter):
    edges = torch.linspace(near, far, n + 1, device=device)
    lower, upper = edges[:-1], edges[1:]
    u = torch.rand(n_rays, n, device=device) if jitter else torch.full((n_rays, n), 0.5)
    return lower + (upper - lower) * u


def volume_render(model, origins, dirs, z):
    points = origins[:, None, :] + dirs[:, None, :] * z[..., None]
    sigma, rgb = model(points)
    delta = torch.cat([z[..., 1:] - z[..., :-1],
                       torch.full_like(z[..., :1], 1e10)], dim=-1)
    alpha = 1.0 - torch.exp(-sigma * delta)
    ones = torch.ones_like(alpha[..., :1])
    transmittance = torch.cumprod(torch.cat([ones, 1.0 - alpha + 1e-10], -1), -1)[..., :-1]
    weights = alpha * transmittance
    return (weights[..., None] * rgb).sum(-2), weights


def sample_pdf(bins, weights, n, jitter):
    """Depths drawn by inverse transform from the piecewise-constant pdf of ``weights``
    over the intervals between ``bins``."""
    weights = weights + 1e-5
    pdf = weights / weights.sum(-1, keepdim=True)
    cdf = torch.cumsum(pdf, -1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)
    if jitter:
        u = torch.rand(cdf.shape[0], n, device=device)
    else:
        u = torch.linspace(0.0, 1.0, n, device=device).expand(cdf.shape[0], n).contiguous()
    idx = torch.searchsorted(cdf, u, right=True)
    below = (idx - 1).clamp(min=0)
    above = idx.clamp(max=cdf.shape[-1] - 1)
    cdf_lo, cdf_hi = torch.gather(cdf, 1, below), torch.gather(cdf, 1, above)
    bin_lo, bin_hi = torch.gather(bins, 1, below), torch.gather(bins, 1, above)
    denom = cdf_hi - cdf_lo
    denom = torch.where(denom < 1e-5, torch.ones_like(denom), denom)
    return bin_lo + (u - cdf_lo) / denom * (bin_hi - bin_lo)


def render_rays(model, origins, dirs, jitter):
    z_coarse = stratified_depths(origins.shape[0], n_coarse, jitter)
    rgb_coarse, weights = volume_render(model, origins, dirs, z_coarse)
    mids = 0.5 * (z_coarse[..., 1:] + z_coarse[..., :-1])
    bins = torch.cat([z_coarse[..., :1], mids, z_coarse[..., -1:]], -1)
    z_fine = sample_pdf(bins, weights.detach(), n_fine, jitter).detach()
    z_all, _ = torch.sort(torch.cat([z_coarse, z_fine], -1), dim=-1)
    rgb_fine, _ = volume_render(model, origins, dirs, z_all)
    return rgb_coarse, rgb_fine


origins, dirs = camera_rays()
target = render_scene(origins, dirs)
origins, dirs, target = origins.to(device), dirs.to(device), target.to(device)
print(f'rays {tuple(dirs.shape)}, image {H}x{W}, covered pixels '
      f'{int((target.sum(-1) > 0).sum().item())}, mean colour {target.mean(0)}')
print(f'positional encoding of one point: {tuple(positional_encoding(origins[:1], 4).shape)}')

model = TinyNeRF().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)


def psnr(mse):
    return -10.0 * torch.log10(mse)


def evaluate():
    model.eval()
    with torch.no_grad():
        _, rgb = render_rays(model, origins, dirs, jitter=False)
        mse = F.mse_loss(rgb, target)
    model.train()
    return mse.item(), psnr(mse).item()


mse, p = evaluate()
print(f'untrained | mse {mse:.5f} | psnr {p:.2f} dB')
batch = 48
for epoch in range(1, 6):
    order = torch.randperm(origins.shape[0], device=device)
    total = 0.0
    for start in range(0, origins.shape[0], batch):
        idx = order[start:start + batch]
        rgb_coarse, rgb_fine = render_rays(model, origins[idx], dirs[idx], jitter=True)
        loss = F.mse_loss(rgb_coarse, target[idx]) + F.mse_loss(rgb_fine, target[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    mse, p = evaluate()
    print(f'epoch {epoch} | train loss {total / math.ceil(origins.shape[0] / batch):.5f} | '
          f'mse {mse:.5f} | psnr {p:.2f} dB')

with torch.no_grad():
    z = stratified_depths(4, n_coarse, jitter=False)
    _, weights = volume_render(model, origins[:4], dirs[:4], z)
    print(f'weights per ray sum to at most one: {bool((weights.sum(-1) <= 1 + 1e-5).all())}')
