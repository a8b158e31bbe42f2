"""Next-frame prediction by a ConvLSTM (Shi et al., 2015, "Convolutional LSTM Network"),
written for the xpnn tests on made-up videos of squares moving and bouncing in a 12x12 box
(a tiny Moving-MNIST).

The cell is hand-written as the paper's equations: one ``nn.Conv2d`` over
``torch.cat([x, h], dim=1)`` gives 4 * hidden channels, split by ``torch.split(gates, hidden,
dim=1)`` into the input, forget, output gates (sigmoid) and the candidate (tanh). Two stacked
cells are unrolled over the frames into a list joined by ``torch.stack(outputs, dim=1)``;
their states start at ``torch.zeros(..., device=x.device)``. Scheduled sampling (Bengio et
al., 2015) feeds, per video, either the true frame or the model's own previous prediction,
chosen by ``torch.rand(B, 1, 1, 1) < p`` through ``torch.where``, with p decaying over the
epochs. Frames are binary, so ``nn.BCEWithLogitsLoss`` on the logits; gradients are clipped
by ``torch.nn.utils.clip_grad_norm_``; ``ReduceLROnPlateau`` steps on the validation loss;
an SSIM-like score is computed with ``F.avg_pool2d(x, 3, 1, 1)`` local means, variances and
covariance.

    python tests/pytorch_programs/tutorials/convlstm_video.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(4)
rng = np.random.default_rng(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
size, frames, side = 12, 8, 3


def make_videos(count):
    videos = np.zeros((count, frames, 1, size, size), dtype=np.float32)
    for i in range(count):
        pos = rng.integers(0, size - side, size=2).astype(np.int64)
        vel = rng.choice([-1, 1], size=2)
        for t in range(frames):
            videos[i, t, 0, pos[0]:pos[0] + side, pos[1]:pos[1] + side] = 1.0
            for k in range(2):  # bounce off the walls
                if not 0 <= pos[k] + vel[k] <= size - side:
                    vel[k] = -vel[k]
                pos[k] += vel[k]
    return torch.from_numpy(videos)


train_v = make_videos(96)
val_v = make_videos(32)
print(f'centre of the square in the first video, per frame:\n'
      f'{(train_v[0, :, 0].nonzero()[:, 1:].float().view(frames, -1, 2).mean(1))}')
loader = DataLoader(TensorDataset(train_v), batch_size=16, shuffle=True)
print(f'videos {tuple(train_v.shape)}, lit pixels {train_v.mean().item():.4f}')


class ConvLSTMCell(nn.Module):
    def __init__(self, in_channels, hidden, kernel_size=3):
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel_size,
                              padding=kernel_size // 2)

    def forward(self, x, state):
        h, c = state
        gates = self.conv(torch.cat([x, h], dim=1))
        i, f, o, g = torch.split(gates, self.hidden, dim=1)
        i, f, o, g = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o), torch.tanh(g)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return h, c

    def init_state(self, x):
        b, _, height, width = x.shape
        zeros = torch.zeros(b, self.hidden, height, width, device=x.device)
        return zeros, zeros.clone()


class FramePredictor(nn.Module):
    def __init__(self, hidden=(12, 12)):
        super().__init__()
        self.cells = nn.ModuleList([ConvLSTMCell(1, hidden[0]), ConvLSTMCell(hidden[0],
                                                                             hidden[1])])
        self.head = nn.Conv2d(hidden[-1], 1, 1)

    def forward(self, video, teacher_p=1.0):
        """Logits of frames 1..T-1 from frames 0..T-2; each input after the first is the true
        frame with probability ``teacher_p``, else the previous prediction."""
        states = [cell.init_state(video[:, 0]) for cell in self.cells]
        outputs = []
        x = video[:, 0]
        for t in range(video.shape[1] - 1):
            if t > 0:
                use_truth = torch.rand(video.shape[0], 1, 1, 1, device=video.device) < teacher_p
                x = torch.where(use_truth, video[:, t], torch.sigmoid(outputs[-1]).detach())
            h = x
            for k, cell in enumerate(self.cells):
                states[k] = cell(h, states[k])
                h = states[k][0]
            outputs.append(self.head(h))
        return torch.stack(outputs, dim=1)


def ssim(a, b, c1=0.01 ** 2, c2=0.03 ** 2):
    """Mean structural similarity over 3x3 windows (zero-padded), images in [0, 1]."""
    mu_a, mu_b = F.avg_pool2d(a, 3, 1, 1), F.avg_pool2d(b, 3, 1, 1)
    var_a = F.avg_pool2d(a * a, 3, 1, 1) - mu_a ** 2
    var_b = F.avg_pool2d(b * b, 3, 1, 1) - mu_b ** 2
    cov = F.avg_pool2d(a * b, 3, 1, 1) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2)
    return (num / den).mean()


model = FramePredictor().to(device)
print(f'parameters {sum(p.numel() for p in model.parameters())}')
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.5,
                                                       patience=1)


def validate():
    model.eval()
    with torch.no_grad():
        v = val_v.to(device)
        logits = model(v, teacher_p=0.0)   # closed loop: the model's own predictions
        target = v[:, 1:]
        loss = criterion(logits, target).item()
        pred = torch.sigmoid(logits)
        score = ssim(pred.flatten(0, 1), target.flatten(0, 1)).item()
    model.train()
    return loss, score


loss, score = validate()
print(f'untrained | val bce {loss:.4f} | ssim {score:.3f}')
for epoch in range(1, 7):
    teacher_p = max(0.0, 1.0 - 0.2 * (epoch - 1))
    total, norm_sum = 0.0, 0.0
    for (v,) in loader:
        v = v.to(device)
        logits = model(v, teacher_p)
        loss = criterion(logits, v[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        norm_sum += torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item()
        optimizer.step()
        total += loss.item()
    val_loss, score = validate()
    scheduler.step(val_loss)
    print(f'epoch {epoch} | teacher p {teacher_p:.1f} | train bce {total / len(loader):.4f} | '
          f'grad norm {norm_sum / len(loader):.3f} | val bce {val_loss:.4f} | ssim {score:.3f} | '
          f'lr {optimizer.param_groups[0]["lr"]:.4f}')

with torch.no_grad():
    model.eval()
    pred = torch.sigmoid(model(val_v[:2].to(device), teacher_p=0.0))
print(f'predicted frames {tuple(pred.shape)}, identical-image ssim '
      f'{ssim(val_v[:4, 0], val_v[:4, 0]).item():.3f}, '
      f'last frame lit pixels {(pred[:, -1] > 0.5).sum().item()} of {2 * side * side}')
