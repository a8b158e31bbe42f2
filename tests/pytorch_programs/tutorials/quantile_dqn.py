"""QR-DQN (Dabney et al., 2018, "Distributional Reinforcement Learning with Quantile
Regression") on a tiny chain MDP, written for the xpnn tests after the paper's algorithm.

The chain has 7 states; the agent starts in the middle and steps left or right, and the
episode ends at either end or after 20 steps. The left end pays 0.5 for sure; the right end
pays a gamble, 1.5 or 0.5 with equal odds (drawn by ``torch.rand``). Both ends are 3 steps
away; at gamma = 0.9 the best first step is right, whose return is two-valued (0.9^2 * 0.5
or 0.9^2 * 1.5), which the quantiles should show. The true action values come from value
iteration on the known model.

The network maps a one-hot state to n_actions x n_quantiles outputs (``view``-ed to
(batch, 2, 16)); the quantile midpoints are tau_i = (2i + 1) / 2N. The target network (a
``load_state_dict`` copy, refreshed every 50 steps) gives, under ``torch.no_grad()``, the
next state's quantiles of the action with the largest mean (``gather`` on the argmax), and
the loss is the quantile Huber loss (kappa = 0.1): ``F.smooth_l1_loss(reduction="none",
beta=kappa)`` between every pair of predicted and target quantiles, weighted by
|tau - 1{td < 0}|. Actions are epsilon-greedy by ``torch.rand``; the replay buffer is
preallocated tensors written at a wrapping index and sampled by ``torch.randint``. Adam; the
average return and length per block of episodes, the loss (which grows as the quantiles
spread) and, at the end, the start state's quantiles are printed.

    python tests/pytorch_programs/tutorials/quantile_dqn.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(4)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

N_STATES, N_ACTIONS, N_QUANTILES, GAMMA = 7, 2, 16, 0.9
START, MAX_STEPS, CAPACITY, BATCH, KAPPA = 3, 20, 2000, 64, 0.1


def env_step(state, action):
    """-> next state, reward, done."""
    nxt = state + (1 if action == 1 else -1)
    if nxt == 0:
        return nxt, 0.5, True
    if nxt == N_STATES - 1:
        return nxt, 1.5 if torch.rand(1).item() < 0.5 else 0.5, True
    return nxt, 0.0, False


class QuantileNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(N_STATES, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, N_ACTIONS * N_QUANTILES))

    def forward(self, state):
        x = F.one_hot(state, N_STATES).float()
        return self.net(x).view(-1, N_ACTIONS, N_QUANTILES)


def value_iteration(sweeps=100):
    """The expected return of each (state, action) under the best policy: (N_STATES, 2)."""
    q = torch.zeros(N_STATES, N_ACTIONS)
    for _ in range(sweeps):
        v = q.max(dim=1).values
        v[0] = v[-1] = 0.0
        left = torch.cat([torch.tensor([0.0]), v[:-1]])
        right = torch.cat([v[1:], torch.tensor([0.0])])
        q = torch.stack([GAMMA * left, GAMMA * right], dim=1)
        q[1, 0] = 0.5
        q[-2, 1] = 1.0
    return q


true_q = value_iteration()
print(f'true action values at the start: left {true_q[START, 0].item():.4f}, right '
      f'{true_q[START, 1].item():.4f}')
tau = (torch.arange(N_QUANTILES, dtype=torch.float32, device=device) + 0.5) / N_QUANTILES
policy = QuantileNet().to(device)
target = QuantileNet().to(device)
target.load_state_dict(policy.state_dict())
optimizer = torch.optim.Adam(policy.parameters(), lr=2e-3)

states = torch.zeros(CAPACITY, dtype=torch.long, device=device)
actions = torch.zeros(CAPACITY, dtype=torch.long, device=device)
rewards = torch.zeros(CAPACITY, device=device)
next_states = torch.zeros(CAPACITY, dtype=torch.long, device=device)
dones = torch.zeros(CAPACITY, device=device)
size, pos = 0, 0


def quantile_huber_loss(pred, target_q):
    """pred, target_q: (B, N) -> the mean over the batch of the quantile Huber loss."""
    td = target_q.unsqueeze(1) - pred.unsqueeze(2)                  # (B, N pred, N target)
    # smooth_l1 with beta = kappa is the paper's Huber loss divided by kappa
    huber = F.smooth_l1_loss(pred.unsqueeze(2).expand_as(td),
                             target_q.unsqueeze(1).expand_as(td), reduction="none", beta=KAPPA)
    weight = torch.abs(tau.view(1, -1, 1) - (td.detach() < 0).float())
    return (weight * huber).mean(dim=2).sum(dim=1).mean()


def train_step():
    idx = torch.randint(0, size, (BATCH,), device=device)
    s, a, r, s2, d = states[idx], actions[idx], rewards[idx], next_states[idx], dones[idx]
    pred = policy(s).gather(1, a.view(-1, 1, 1).expand(-1, 1, N_QUANTILES)).squeeze(1)
    with torch.no_grad():
        next_q = target(s2)                                          # (B, A, N)
        best = next_q.mean(dim=2).argmax(dim=1)
        next_quantiles = next_q.gather(1, best.view(-1, 1, 1).expand(-1, 1, N_QUANTILES))
        target_q = r.unsqueeze(1) + GAMMA * (1 - d.unsqueeze(1)) * next_quantiles.squeeze(1)
    loss = quantile_huber_loss(pred, target_q)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


# the loss at its definition: a prediction of 0 against a target of 3 at tau = 0.5 is
# 0.5 * (3 - KAPPA / 2)
tau_saved = tau
tau = torch.tensor([0.5], device=device)
print(f'quantile huber of 0 vs 3 at tau 0.5: '
      f'{quantile_huber_loss(torch.zeros(1, 1), torch.full((1, 1), 3.0)).item():.4f}')
tau = tau_saved

steps, returns, lengths, losses = 0, [], [], []
for episode in range(1, 241):
    epsilon = max(0.05, 1.0 - episode / 120)
    state, total, discount = START, 0.0, 1.0
    for t in range(MAX_STEPS):
        if torch.rand(1).item() < epsilon:
            action = torch.randint(0, N_ACTIONS, (1,)).item()
        else:
            with torch.no_grad():
                action = policy(torch.tensor([state], device=device)).mean(dim=2).argmax(1).item()
        nxt, reward, done = env_step(state, action)
        states[pos], actions[pos], rewards[pos] = state, action, reward
        next_states[pos], dones[pos] = nxt, float(done)
        pos, size = (pos + 1) % CAPACITY, min(size + 1, CAPACITY)
        total += discount * reward
        discount *= GAMMA
        state = nxt
        steps += 1
        if size >= BATCH:
            losses.append(train_step())
        if steps % 50 == 0:
            target.load_state_dict(policy.state_dict())
        if done:
            break
    returns.append(total)
    lengths.append(t + 1)
    if episode % 40 == 0:
        recent = torch.tensor(losses[-200:]).mean().item() if losses else 0.0
        print(f'episodes {episode - 39:3d}-{episode} | mean return '
              f'{torch.tensor(returns[-40:]).mean().item():.4f} | mean length '
              f'{torch.tensor(lengths[-40:]).float().mean().item():.3f} | loss {recent:.4f} | '
              f'epsilon {epsilon:.2f}')

with torch.no_grad():
    q = policy(torch.tensor([START], device=device))[0]
print(f'start state means: left {q[0].mean().item():.3f}, right {q[1].mean().item():.3f} '
      f'(true {true_q[START, 0].item():.3f}, {true_q[START, 1].item():.3f})')
print(f'right quantiles: low half {q[1, :8].mean().item():.3f}, high half '
      f'{q[1, 8:].mean().item():.3f} (true {GAMMA ** 2 * 0.5:.3f}, {GAMMA ** 2 * 1.5:.3f})')
