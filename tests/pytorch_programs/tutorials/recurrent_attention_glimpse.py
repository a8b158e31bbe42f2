"""The Recurrent Attention Model (Mnih et al., 2014, "Recurrent Models of Visual
Attention") on made-up 24x24 images: a small bright mark in one of four quadrants decides
the class, under noise.

Each step crops a glimpse around a location l in [-1, 1]^2 at two scales by
``F.affine_grid`` + ``F.grid_sample(align_corners=False)`` (an 8x8 patch, and a 16x16 patch
resampled to 8x8); a glimpse network mixes the patches with the location, an
``nn.LSTMCell`` core carries the state, and a location network gives the mean of a
``torch.distributions.Normal`` policy with fixed std. The next location is sampled (not
rsampled: the policy is trained by REINFORCE alone) and ``torch.clamp``-ed to [-1, 1];
``log_prob`` of the sample is kept. The reward is 1 for a right classification at the
last step; a learned baseline from the (detached) hidden state reduces the variance. The
hybrid loss is cross-entropy + the policy gradient term - log_prob * (R - b).detach() +
the baseline's MSE against R.

    python tests/pytorch_programs/tutorials/recurrent_attention_glimpse.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rng = np.random.default_rng(5)
S, N_CLASSES, PATCH, STEPS, STD = 24, 4, 8, 4, 0.15


def make_images(count):
    labels = rng.integers(0, N_CLASSES, count)
    x = 0.35 * rng.standard_normal((count, 1, S, S))
    for i, label in enumerate(labels):
        r0 = 2 + (label // 2) * (S // 2) + rng.integers(0, 4)
        c0 = 2 + (label % 2) * (S // 2) + rng.integers(0, 4)
        x[i, 0, r0:r0 + 4, c0:c0 + 4] += 0.8
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


def glimpse(images, loc, size):
    """A size x size patch of the image around loc, resampled to PATCH x PATCH."""
    n = images.shape[0]
    scale = size / images.shape[-1]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, :, 2] = loc
    grid = F.affine_grid(theta, (n, 1, PATCH, PATCH), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)


class RAM(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.hidden = hidden
        self.what = nn.Linear(2 * PATCH * PATCH, 64)
        self.where = nn.Linear(2, 32)
        self.glimpse_out = nn.Linear(96, hidden)
        self.core = nn.LSTMCell(hidden, hidden)
        self.locator = nn.Linear(hidden, 2)
        self.baseline = nn.Linear(hidden, 1)
        self.classifier = nn.Linear(hidden, N_CLASSES)

    def glimpse_net(self, x, loc):
        patches = torch.cat([glimpse(x, loc, PATCH), glimpse(x, loc, 2 * PATCH)], dim=1)
        g = torch.cat([F.relu(self.what(patches.flatten(1))), F.relu(self.where(loc))], dim=1)
        return F.relu(self.glimpse_out(g))

    def forward(self, x, sample=True):
        n = x.shape[0]
        h = torch.zeros(n, self.hidden)
        c = torch.zeros(n, self.hidden)
        loc = torch.zeros(n, 2)
        log_probs, baselines = [], []
        for _ in range(STEPS):
            h, c = self.core(self.glimpse_net(x, loc), (h, c))
            mean = torch.tanh(self.locator(h.detach()))
            policy = Normal(mean, STD)
            loc = policy.sample() if sample else mean.detach()
            log_probs.append(policy.log_prob(loc).sum(dim=1))
            loc = torch.clamp(loc, -1.0, 1.0)
            baselines.append(self.baseline(h.detach()).squeeze(1))
        return self.classifier(h), torch.stack(log_probs, 1), torch.stack(baselines, 1)


train_x, train_y = make_images(512)
test_x, test_y = make_images(256)
model = RAM()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

# rsample keeps a path to the mean, sample does not
probe = Normal(torch.zeros(3, requires_grad=True), STD)
print(f'rsample has grad_fn: {probe.rsample().grad_fn is not None} | '
      f'sample has grad_fn: {probe.sample().grad_fn is not None}')


def evaluate():
    with torch.no_grad():
        logits, _, _ = model(test_x, sample=False)
        loss = F.cross_entropy(logits, test_y).item()
        accuracy = (logits.argmax(1) == test_y).float().mean().item()
    return loss, accuracy


loss, accuracy = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f}')
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
for epoch in range(1, 7):
    totals = np.zeros(4)
    for x, y in loader:
        logits, log_probs, baselines = model(x)
        reward = (logits.argmax(1) == y).float().unsqueeze(1).repeat(1, STEPS)
        advantage = (reward - baselines).detach()
        classification = F.cross_entropy(logits, y)
        reinforce = -(log_probs * advantage).sum(dim=1).mean()
        baseline_loss = F.mse_loss(baselines, reward)
        loss = classification + 0.1 * reinforce + baseline_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals += [loss.item(), classification.item(), baseline_loss.item(),
                   reward[:, 0].mean().item()]
    totals /= len(loader)
    test_loss, accuracy = evaluate()
    print(f'epoch {epoch} | hybrid loss {totals[0]:.4f} | ce {totals[1]:.4f} | baseline mse '
          f'{totals[2]:.4f} | reward {totals[3]:.3f} | test loss {test_loss:.4f} | '
          f'accuracy {accuracy:.3f}')
