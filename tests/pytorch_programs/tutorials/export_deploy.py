"""Deploying with torch.export: train a small CNN, export it with a dynamic batch Dim, save
the ExportedProgram to a BytesIO, load it back (no model class needed) and run it on a new
batch size against the eager model."""
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.export import Dim

torch.manual_seed(0)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 4 * 4, 3)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(h.flatten(1))


# three classes of 8x8 images: a bright left, middle or right band plus noise
labels = torch.arange(96) % 3
images = torch.randn(96, 1, 8, 8)
cols = torch.arange(8)
start = 2 * labels[:, None] + 1
band = ((cols >= start) & (cols < start + 3)).float()  # (96, 8)
images = images + 0.4 * band[:, None, None, :]

model = SmallCNN()
opt = torch.optim.Adam(model.parameters(), lr=0.003)
for epoch in range(3):
    total = 0.0
    for i in range(0, 96, 16):
        loss = F.cross_entropy(model(images[i:i + 16]), labels[i:i + 16])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    print(f"epoch {epoch} | train loss {total / 6:.6f}")

model.eval()  # export captures the current mode: inference uses the running statistics
batch = Dim("batch", min=2, max=128)
ep = torch.export.export(model, (images[:16],), dynamic_shapes={"x": {0: batch}})
print("user inputs:", list(ep.graph_signature.user_inputs))
print("state dict keys:", list(ep.state_dict))

buf = io.BytesIO()
torch.export.save(ep, buf)
buf.seek(0)
loaded = torch.export.load(buf).module()

new_batch = torch.randn(37, 1, 8, 8)
with torch.no_grad():
    diff = (loaded(new_batch) - model(new_batch)).abs().max().item()
print("loaded program on a batch of 37 matches eager:", round(diff, 6) < 1e-5)
try:
    loaded(torch.randn(200, 1, 8, 8))
except AssertionError as exc:
    print("batch of 200 refused:", type(exc).__name__)
