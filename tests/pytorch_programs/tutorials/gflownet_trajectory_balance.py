"""A GFlowNet trained by trajectory balance (Malkin et al., 2022, "Trajectory balance:
Improved credit assignment in GFlowNets"), written for the xpnn tests after the hypergrid
environment of Bengio et al. (2021), on an 8x8 grid.

A trajectory starts at (0, 0) and moves right or up, one cell at a time, until it takes the
stop action; its terminal cell x should be sampled with probability R(x) / Z, where the
reward R is high on four corner regions of the grid. One MLP reads the one-hot coordinates of
a state and returns the forward policy's 3 logits (right, up, stop) and the backward
policy's 2 logits (which parent: from the left, from below); moves off the grid and parents
outside it are masked by ``logits.masked_fill(~allowed, float('-inf'))``. Actions are drawn
from ``torch.distributions.Categorical(logits=...)`` and scored by its ``log_prob``; a
learnable ``log_Z = nn.Parameter(torch.zeros(()))`` (its own, larger learning rate) closes
the trajectory-balance loss

    (log Z + sum_t log P_F(s_t+1 | s_t) - log R(x) - sum_t log P_B(s_t | s_t+1)) ** 2.

The true log Z is ``torch.logsumexp`` of the log rewards. After training, the terminal
cells of 4000 sampled trajectories are counted by ``torch.bincount`` and their empirical
distribution compared with R / Z by the L1 distance.

    python tests/pytorch_programs/tutorials/gflownet_trajectory_balance.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

H = 8          # cells per side
R0 = 0.01      # the base reward


def log_reward(cells):
    """cells: (n, 2) int64 -> (n,) float32 log R: R0, + 0.5 on the outer band, + 2 in the
    four corner squares of it."""
    ax = (cells.float() / (H - 1) - 0.5).abs()
    band = ((ax > 0.25) & (ax <= 0.5)).all(dim=-1).float()
    peak = ((ax > 0.3) & (ax < 0.4)).all(dim=-1).float()
    return torch.log(R0 + 0.5 * band + 2.0 * peak)


class Policy(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * H, hidden), nn.LeakyReLU(),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(),
                                 nn.Linear(hidden, 5))
        self.log_Z = nn.Parameter(torch.zeros(()))

    def forward(self, cells):
        enc = torch.cat([F.one_hot(cells[:, 0], H), F.one_hot(cells[:, 1], H)], dim=-1)
        out = self.net(enc.float())
        forward_allowed = torch.stack([cells[:, 0] < H - 1, cells[:, 1] < H - 1,
                                       torch.ones_like(cells[:, 0], dtype=torch.bool)], dim=-1)
        backward_allowed = cells > 0
        pf = out[:, :3].masked_fill(~forward_allowed, float('-inf'))
        pb = out[:, 3:].masked_fill(~backward_allowed, float('-inf'))
        return pf, pb


MOVES = torch.tensor([[1, 0], [0, 1], [0, 0]], dtype=torch.long, device=device)


def sample_trajectories(model, n):
    """Run n trajectories to their stop action; returns the terminal cells and the summed
    forward and backward log-probabilities of each."""
    cells = torch.zeros(n, 2, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    sum_pf = torch.zeros(n, device=device)
    sum_pb = torch.zeros(n, device=device)
    while not bool(done.all()):
        pf_logits, _ = model(cells)
        dist = Categorical(logits=pf_logits)
        action = dist.sample()
        action = torch.where(done, torch.full_like(action, 2), action)
        sum_pf = sum_pf + torch.where(done, torch.zeros_like(sum_pf), dist.log_prob(action))
        moved = (~done) & (action < 2)
        cells = cells + MOVES[action] * moved[:, None].long()
        # the backward policy at the new cell must choose the move just made
        _, pb_logits = model(cells)
        back = torch.where(moved, action, torch.zeros_like(action))
        log_pb = Categorical(logits=pb_logits.masked_fill(~moved[:, None], 0.0)).log_prob(back)
        sum_pb = sum_pb + torch.where(moved, log_pb, torch.zeros_like(log_pb))
        done = done | (action == 2)
    return cells, sum_pf, sum_pb


all_cells = torch.stack(torch.meshgrid(torch.arange(H), torch.arange(H), indexing='ij'),
                        dim=-1).reshape(-1, 2).to(device)
log_R = log_reward(all_cells)
true_log_Z = torch.logsumexp(log_R, dim=0)
target = torch.softmax(log_R, dim=0)
print(f'cells {H * H}, true log Z {true_log_Z.item():.4f}, '
      f'mass on the 4 peaks {target[log_R > 0.5].sum().item():.3f}')

model = Policy().to(device)
optimizer = torch.optim.Adam([{'params': model.net.parameters(), 'lr': 2e-3},
                              {'params': [model.log_Z], 'lr': 1e-1}])


def empirical_l1(n=4000):
    with torch.no_grad():
        cells, _, _ = sample_trajectories(model, n)
    index = cells[:, 0] * H + cells[:, 1]
    counts = torch.bincount(index, minlength=H * H)
    return (counts.float() / n - target).abs().sum().item()


with torch.no_grad():
    pf, pb = model(all_cells[:3])
    print(f'untrained forward probs at (0,0) {torch.softmax(pf[0], -1).tolist()}')
    print(f'untrained backward probs at (0,1) {torch.softmax(pb[1], -1).tolist()}')
print(f'untrained | L1 to R/Z {empirical_l1():.3f}')

for epoch in range(1, 6):
    losses = []
    for step in range(40):
        cells, sum_pf, sum_pb = sample_trajectories(model, 16)
        loss = (model.log_Z + sum_pf - log_reward(cells) - sum_pb).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f'epoch {epoch} | tb loss {sum(losses) / len(losses):.4f} | '
          f'log Z {model.log_Z.item():.4f} | L1 to R/Z {empirical_l1():.3f}')
