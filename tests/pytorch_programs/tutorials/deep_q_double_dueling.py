"""Double DQN with a dueling head and prioritized experience replay, written for the xpnn
tests after van Hasselt et al. (2016), Wang et al. (2016) and Schaul et al. (2016), on a
grid world written in torch.

The world is a 5x5 grid with a goal in a corner and two pits; the state is a one-hot plane
of the agent's cell (``torch.zeros`` + index assignment). The Q-network is a dueling MLP:
V(s) + A(s, a) - A(s, .).mean(dim=1, keepdim=True). Actions are epsilon-greedy, the coin by
``torch.rand`` and the random action by ``torch.randint``.

Replay: a sum tree in plain Python lists holds the priorities (|TD error| + eps) ** alpha
(a leaf update walks to the root); a batch is sampled without ``torch.multinomial``, by
``torch.rand`` scaled to stratified segments of the total and ``torch.searchsorted`` over
``torch.cumsum`` of the leaves' priorities. Importance weights (N * P(i)) ** -beta over
their max, with beta annealed to 1, multiply ``F.smooth_l1_loss(reduction="none")``. The
double-DQN target takes the argmax of the online net and the value of the target net
(``gather``); the target net is a ``copy.deepcopy`` moved by Polyak averaging under
``torch.no_grad()`` with ``mul_`` / ``add_(alpha=)``.

    python tests/pytorch_programs/tutorials/deep_q_double_dueling.py
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

SIZE, N_ACTIONS = 5, 4
GOAL, PITS = (4, 4), ((2, 2), (1, 3))
MOVES = torch.tensor([[-1, 0], [1, 0], [0, -1], [0, 1]])


def observe(pos):
    state = torch.zeros(SIZE, SIZE)
    state[pos[0], pos[1]] = 1.0
    return state.flatten()


def env_step(pos, action):
    new = (pos + MOVES[action]).clamp(0, SIZE - 1)
    cell = tuple(new.tolist())
    if cell == GOAL:
        return new, 1.0, True
    if cell in PITS:
        return new, -1.0, True
    return new, -0.02, False


class SumTree:
    """Priorities at the leaves of a binary tree in a Python list; each inner node holds the
    sum of its children."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.nodes = [0.0] * (2 * capacity - 1)

    def update(self, index, priority):
        node = index + self.capacity - 1
        change = priority - self.nodes[node]
        while True:
            self.nodes[node] += change
            if node == 0:
                break
            node = (node - 1) // 2

    def total(self):
        return self.nodes[0]

    def leaves(self):
        return self.nodes[self.capacity - 1:]


class PrioritizedReplay:
    def __init__(self, capacity, alpha=0.6, eps=1e-3):
        self.capacity, self.alpha, self.eps = capacity, alpha, eps
        self.tree = SumTree(capacity)
        self.data = [None] * capacity
        self.size, self.next, self.max_priority = 0, 0, 1.0

    def push(self, *transition):
        self.data[self.next] = transition
        self.tree.update(self.next, self.max_priority)
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size, beta):
        priorities = torch.tensor(self.tree.leaves()[:self.size])
        cumulative = torch.cumsum(priorities, dim=0)
        segment = self.tree.total() / batch_size
        targets = (torch.arange(batch_size) + torch.rand(batch_size)) * segment
        idx = torch.searchsorted(cumulative, targets).clamp(max=self.size - 1)
        probs = priorities[idx] / self.tree.total()
        weights = (self.size * probs) ** (-beta)
        weights = weights / weights.max()
        s, a, r, s2, d = zip(*[self.data[i] for i in idx.tolist()])
        return (idx, torch.stack(s), torch.tensor(a), torch.tensor(r), torch.stack(s2),
                torch.tensor(d, dtype=torch.float32), weights)

    def update(self, idx, td_errors):
        for i, err in zip(idx.tolist(), td_errors.tolist()):
            priority = (abs(err) + self.eps) ** self.alpha
            self.max_priority = max(self.max_priority, priority)
            self.tree.update(i, priority)


class DuelingQ(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(SIZE * SIZE, hidden), nn.ReLU())
        self.value = nn.Sequential(nn.Linear(hidden, hidden // 2), nn.ReLU(),
                                   nn.Linear(hidden // 2, 1))
        self.advantage = nn.Sequential(nn.Linear(hidden, hidden // 2), nn.ReLU(),
                                       nn.Linear(hidden // 2, N_ACTIONS))

    def forward(self, x):
        h = self.body(x)
        a = self.advantage(h)
        return self.value(h) + a - a.mean(dim=1, keepdim=True)


online = DuelingQ().to(device)
target = copy.deepcopy(online)
for p in target.parameters():
    p.requires_grad_(False)
optimizer = torch.optim.Adam(online.parameters(), lr=1e-3)
replay = PrioritizedReplay(2000)
gamma, tau, batch_size = 0.95, 0.05, 32
episodes, max_steps = 150, 30


def greedy_return():
    pos, total = torch.tensor([0, 0]), 0.0
    with torch.no_grad():
        for t in range(max_steps):
            action = online(observe(pos).unsqueeze(0).to(device)).argmax(1).item()
            pos, reward, done = env_step(pos, action)
            total += reward * gamma ** t
            if done:
                break
    return total


returns, losses = [], []
for episode in range(1, episodes + 1):
    epsilon = max(0.05, 1.0 - episode / 80)
    beta = min(1.0, 0.4 + 0.6 * episode / episodes)
    pos, total = torch.tensor([0, 0]), 0.0
    for t in range(max_steps):
        state = observe(pos)
        if torch.rand(()).item() < epsilon:
            action = torch.randint(N_ACTIONS, ()).item()
        else:
            with torch.no_grad():
                action = online(state.unsqueeze(0).to(device)).argmax(1).item()
        pos, reward, done = env_step(pos, action)
        replay.push(state, action, reward, observe(pos), done)
        total += reward
        if replay.size >= 64:
            idx, s, a, r, s2, d, w = replay.sample(batch_size, beta)
            s, a, r, s2, d, w = (v.to(device) for v in (s, a, r, s2, d, w))
            q = online(s).gather(1, a.unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                best = online(s2).argmax(1, keepdim=True)
                q_next = target(s2).gather(1, best).squeeze(1)
                y = r + gamma * (1.0 - d) * q_next
            elementwise = F.smooth_l1_loss(q, y, reduction='none')
            loss = (w * elementwise).mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(online.parameters(), 10.0)
            optimizer.step()
            replay.update(idx, (q - y).detach().cpu())
            with torch.no_grad():
                for p_t, p in zip(target.parameters(), online.parameters()):
                    p_t.mul_(1.0 - tau).add_(p, alpha=tau)
            losses.append(loss.item())
        if done:
            break
    returns.append(total)
    if episode % 25 == 0:
        recent = sum(returns[-25:]) / 25
        mean_loss = sum(losses[-100:]) / max(1, len(losses[-100:]))
        print(f'episode {episode} | epsilon {epsilon:.2f} | mean return {recent:.3f} | '
              f'loss {mean_loss:.4f} | greedy return {greedy_return():.3f} | '
              f'replay {replay.size}, total priority {replay.tree.total():.2f}')

with torch.no_grad():
    grid = torch.stack([observe(torch.tensor([i, j])) for i in range(SIZE) for j in range(SIZE)])
    values = online(grid.to(device)).max(1).values.reshape(SIZE, SIZE)
print(f'value at the start {values[0, 0].item():.3f}, next to the goal '
      f'{values[4, 3].item():.3f}, greedy return {greedy_return():.3f}')
