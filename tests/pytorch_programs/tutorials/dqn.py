"""DQN after PyTorch's reinforcement_q_learning tutorial, written small for the xpnn tests: a
4x4 grid world written out here replaces gym's CartPole.

The agent starts in the top-left cell and earns 1 on reaching the bottom-right one, -0.04 a
step (at most 16 steps), and slips to a random action now and then. A Q-network (an
nn.Module of Linear, ReLU, Linear) picks actions epsilon-greedily by ``argmax``; transitions
go to a replay buffer (``collections.deque`` + ``random.sample``, batched with
``torch.stack`` and ``torch.tensor``); Q(s, a) by ``.gather(1, action.unsqueeze(1))``, the
targets from a target network made by ``load_state_dict`` and kept by a soft update
(``tp.data.mul_(1 - tau).add_(tau * p.data)``), SmoothL1Loss, AdamW with
``clip_grad_value_``, and a greedy evaluation under ``torch.no_grad`` at the end.

    python tests/pytorch_programs/tutorials/dqn.py
"""
import math
import random
from collections import deque, namedtuple

import torch
import torch.nn as nn
import torch.optim as optim

random.seed(3)
torch.manual_seed(3)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward', 'done'))


class GridWorld:
    """Cells (row, col) of a size x size grid; actions up, right, down, left."""

    MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))

    def __init__(self, size=4, max_steps=16, slip=0.1, seed=0):
        self.size, self.max_steps, self.slip = size, max_steps, slip
        self.rng = random.Random(seed)

    def observe(self):
        state = [0.0] * (self.size * self.size)
        state[self.row * self.size + self.col] = 1.0
        return state

    def reset(self):
        self.row, self.col, self.steps = 0, 0, 0
        return self.observe()

    def step(self, action):
        self.steps += 1
        if self.rng.random() < self.slip:
            action = self.rng.randrange(4)
        dr, dc = self.MOVES[action]
        self.row = min(max(self.row + dr, 0), self.size - 1)
        self.col = min(max(self.col + dc, 0), self.size - 1)
        at_goal = self.row == self.size - 1 and self.col == self.size - 1
        reward = 1.0 if at_goal else -0.04
        return self.observe(), reward, at_goal, at_goal or self.steps >= self.max_steps


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super().__init__()
        self.layer1 = nn.Linear(n_observations, 64)
        self.layer2 = nn.Linear(64, n_actions)

    def forward(self, x):
        return self.layer2(torch.relu(self.layer1(x)))


BATCH_SIZE = 32
GAMMA = 0.95
EPS_START, EPS_END, EPS_DECAY = 0.9, 0.05, 300
TAU = 0.05
LR = 3e-3

env = GridWorld(seed=7)
n_obs, n_actions = 16, 4
policy_net = DQN(n_obs, n_actions).to(device)
target_net = DQN(n_obs, n_actions).to(device)
target_net.load_state_dict(policy_net.state_dict())
optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
memory = ReplayMemory(2000)
steps_done = 0


def select_action(state):
    global steps_done
    eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
    steps_done += 1
    if random.random() > eps_threshold:
        with torch.no_grad():
            return policy_net(state).argmax(dim=1).item()
    return random.randrange(n_actions)


def optimize_model():
    if len(memory) < BATCH_SIZE:
        return None
    batch = Transition(*zip(*memory.sample(BATCH_SIZE)))
    state_batch = torch.cat(batch.state)
    next_state_batch = torch.cat(batch.next_state)
    action_batch = torch.tensor(batch.action, device=device)
    reward_batch = torch.tensor(batch.reward, device=device)
    done_batch = torch.tensor(batch.done, dtype=torch.float32, device=device)

    state_action_values = policy_net(state_batch).gather(1, action_batch.unsqueeze(1))
    with torch.no_grad():
        next_state_values = target_net(next_state_batch).max(1).values
    expected = reward_batch + GAMMA * next_state_values * (1 - done_batch)

    criterion = nn.SmoothL1Loss()
    loss = criterion(state_action_values, expected.unsqueeze(1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
    optimizer.step()
    return loss.item()


def soft_update():
    with torch.no_grad():
        for tp, p in zip(target_net.parameters(), policy_net.parameters()):
            tp.data.mul_(1 - TAU).add_(TAU * p.data)


num_episodes = 60
lengths, losses = deque(maxlen=10), []
for i_episode in range(1, num_episodes + 1):
    state = torch.tensor(env.reset(), dtype=torch.float32, device=device).unsqueeze(0)
    for t in range(1, 100):
        action = select_action(state)
        obs, reward, at_goal, done = env.step(action)
        next_state = torch.tensor(obs, dtype=torch.float32, device=device).unsqueeze(0)
        memory.push(state, action, next_state, reward, at_goal)
        state = next_state
        loss = optimize_model()
        if loss is not None:
            losses.append(loss)
        soft_update()
        if done:
            break
    lengths.append(t)
    if i_episode % 10 == 0:
        mean_loss = sum(losses) / max(len(losses), 1)
        losses = []
        print(f'episode {i_episode:3d} | average length {sum(lengths) / len(lengths):.2f} '
              f'| loss {mean_loss:.4f} | buffer {len(memory)}')

policy_net.eval()
returns = []
with torch.no_grad():
    start = torch.tensor(env.reset(), dtype=torch.float32, device=device).unsqueeze(0)
    q_start = policy_net(start)
    print('Q(start):', tuple(q_start.shape), 'greedy action', q_start.argmax().item())
    for _ in range(10):
        state, total = env.reset(), 0.0
        for t in range(env.max_steps):
            action = policy_net(torch.tensor(state).unsqueeze(0)).argmax(dim=1).item()
            state, reward, at_goal, done = env.step(action)
            total += reward
            if done:
                break
        returns.append(total)
print(f'greedy return over 10 episodes: {sum(returns) / len(returns):.3f}')
