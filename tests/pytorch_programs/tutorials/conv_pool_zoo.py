"""A zoo of convolution, pooling and padding layers in one small 3-D autoencoder, after the
torch.nn layer documentation, on made-up 8x8x8 volumes holding a blurred blob or a box.

The volume goes through a ``ReplicationPad3d`` and a strided ``Conv3d`` to a 4x4x4 code
and back through ``ConvTranspose3d(output_padding=1)``. Its depth-mean projection goes
through a planar branch: ``CircularPad2d`` and a Conv2d, ``MaxPool2d(return_indices=True)``,
``AvgPool2d(count_include_pad=False)`` beside ``AvgPool2d(divisor_override=2)``,
``LPPool2d`` and ``AdaptiveMaxPool2d(return_indices=True)`` into a Linear bottleneck that
``nn.Unflatten`` turns into a 3-D bias for the volume code; the planar decoder unpools by
``MaxUnpool2d`` with the saved indices, pads by ``ReflectionPad2d`` and ends in a
``ConvTranspose2d(groups=2, dilation=2)``. The loss is the volume MSE plus the projection
MSE; a few shape and index checks are printed first.

    python tests/pytorch_programs/tutorials/conv_pool_zoo.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(5)
S = 8


def make_volumes(count):
    grid = np.stack(np.meshgrid(*[np.arange(S)] * 3, indexing="ij"), axis=0)
    vols = 0.1 * rng.standard_normal((count, 1, S, S, S))
    for i in range(count):
        centre = rng.uniform(2, S - 2, size=3)
        if rng.random() < 0.5:
            d2 = ((grid - centre[:, None, None, None]) ** 2).sum(0)
            vols[i, 0] += np.exp(-d2 / 3.0)
        else:
            lo = np.floor(centre - 1.5).astype(int)
            vols[i, 0, lo[0]:lo[0] + 3, lo[1]:lo[1] + 3, lo[2]:lo[2] + 3] += 0.8
    return torch.tensor(vols, dtype=torch.float32)


class ZooAutoencoder(nn.Module):
    def __init__(self, ch=4):
        super().__init__()
        self.pad3 = nn.ReplicationPad3d(1)
        self.enc3 = nn.Conv3d(1, ch, 3, stride=2, padding=0)
        self.dec3 = nn.ConvTranspose3d(ch, 1, 3, stride=2, padding=1, output_padding=1)
        self.pad2 = nn.CircularPad2d(1)
        self.conv2 = nn.Conv2d(1, ch, 3)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.sum_pool = nn.AvgPool2d(2, stride=2, divisor_override=2)
        self.lp = nn.LPPool2d(2, kernel_size=2)
        self.adaptive = nn.AdaptiveMaxPool2d(2, return_indices=True)
        self.bottleneck = nn.Sequential(nn.Linear(2 * ch * 4, 16), nn.Tanh(),
                                        nn.Linear(16, ch * 4 ** 3), nn.Unflatten(1, (ch, 4, 4, 4)))
        self.unpool = nn.MaxUnpool2d(2)
        self.refine = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.Tanh())
        self.up2 = nn.ConvTranspose2d(ch, 2, 3, padding=2, groups=2, dilation=2)

    def forward(self, vol):
        proj = vol.mean(2)
        h = torch.tanh(self.conv2(self.pad2(proj)))
        pooled, indices = self.pool(h)
        smooth = self.avg(pooled) + 0.5 * self.sum_pool(h)
        lp = self.lp(smooth)
        amax, _ = self.adaptive(smooth)
        bias3 = self.bottleneck(torch.cat([lp, amax], 1).flatten(1))
        code = torch.relu(self.enc3(self.pad3(vol))) + bias3
        vol_out = self.dec3(code)
        planar = self.refine(self.unpool(smooth, indices, output_size=h.shape[-2:]))
        proj_out = self.up2(planar).mean(1, keepdim=True)
        return vol_out, proj_out, proj


train_x, test_x = make_volumes(96), make_volumes(32)
model = ZooAutoencoder()

# shape and index checks on one batch
with torch.no_grad():
    probe = test_x[:2]
    out, proj_out, proj = model(probe)
    h = torch.tanh(model.conv2(model.pad2(proj)))
    pooled, indices = model.pool(h)
    gathered = h.flatten(2).gather(2, indices.flatten(2)).view_as(pooled)
    amax, aidx = model.adaptive(h)
    print(f"volume {tuple(out.shape)} | projection {tuple(proj_out.shape)} | "
          f"pool indices {tuple(indices.shape)} {indices.dtype}")
    print(f"max pool indices gather the maxima: {torch.equal(gathered, pooled)} | "
          f"adaptive indices {aidx[0, 0].flatten().tolist()}")
    unpooled = model.unpool(pooled, indices)
    print(f"unpooled nonzeros {int((unpooled != 0).sum().item())} of {unpooled.numel()}")
    cip = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True)(h)
    print(f"corner avg without pad {model.avg(h)[0, 0, 0, 0].item():.5f} | "
          f"with pad {cip[0, 0, 0, 0].item():.5f}")
    circ = model.pad2(proj)
    print(f"circular pad wraps: {torch.equal(circ[..., 0, 1:-1], proj[..., -1, :])} | "
          f"replication pad {tuple(model.pad3(probe).shape)}")

optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
loader = DataLoader(TensorDataset(train_x), batch_size=12, shuffle=True)


def losses(vol):
    vol_out, proj_out, proj = model(vol)
    return F.mse_loss(vol_out, vol), F.mse_loss(proj_out, proj)


for epoch in range(1, 9):
    total = 0.0
    for (vol,) in loader:
        optimizer.zero_grad()
        vol_loss, proj_loss = losses(vol)
        loss = vol_loss + proj_loss
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_vol, test_proj = losses(test_x)
    print(f"epoch {epoch} | train loss {total / len(loader):.5f} | test volume mse "
          f"{test_vol.item():.5f} | test projection mse {test_proj.item():.5f}")
