"""Advantage actor-critic (Mnih et al., 2016, "Asynchronous Methods for Deep Reinforcement
Learning", the synchronous A2C form) on a vectorized toy environment written in torch,
for the xpnn tests.

The environment is a batch of 32 walkers on an 8x8 grid, all stepped at once with tensor
ops: an action (up, down, left, right) moves a walker by a table lookup, ``clamp`` keeps it
on the grid, the reward is +1 on reaching the goal corner and -0.01 per step, and walkers
that reach the goal or run out of time are reset by ``torch.where`` (the next start drawn by
``torch.randint``). The observation is a one-hot of the position.

The policy and the value share a trunk; actions come from
``torch.distributions.Categorical(logits=...)`` (``sample``, ``log_prob``, ``entropy()``).
Each update rolls out 8 steps of all walkers, bootstraps from the value of the last state,
and computes generalised advantage estimates by a reversed Python loop over the steps (masks
from the done flags). The loss is policy gradient + 0.5 value MSE - 0.01 entropy, clipped by
``clip_grad_norm_`` and stepped by ``torch.optim.RMSprop(alpha=0.99, eps=1e-5)``. The mean
return of the finished episodes and the greedy policy's steps to the goal are printed.

    python tests/pytorch_programs/tutorials/a2c_vector_env.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(13)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

size, n_envs, n_rollout, max_steps = 8, 32, 8, 40
moves = torch.tensor([[-1, 0], [1, 0], [0, -1], [0, 1]], device=device)
goal = torch.tensor([size - 1, size - 1], device=device)


class GridWalkers:
    """``n_envs`` walkers stepped together; positions (n, 2) int64."""

    def __init__(self, n):
        self.n = n
        self.pos = torch.randint(0, size - 1, (n, 2), device=device)
        self.t = torch.zeros(n, dtype=torch.long, device=device)

    def observe(self):
        return F.one_hot(self.pos[:, 0] * size + self.pos[:, 1], size * size).float()

    def step(self, action):
        self.pos = (self.pos + moves[action]).clamp(0, size - 1)
        self.t += 1
        at_goal = (self.pos == goal).all(dim=1)
        reward = torch.where(at_goal, torch.tensor(1.0, device=device),
                             torch.tensor(-0.01, device=device))
        done = at_goal | (self.t >= max_steps)
        fresh = torch.randint(0, size - 1, (self.n, 2), device=device)
        self.pos = torch.where(done.unsqueeze(1), fresh, self.pos)
        self.t = torch.where(done, torch.zeros_like(self.t), self.t)
        return self.observe(), reward, done


class ActorCritic(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(size * size, hidden), nn.Tanh())
        self.policy = nn.Linear(hidden, 4)
        self.value = nn.Linear(hidden, 1)

    def forward(self, obs):
        h = self.trunk(obs)
        return Categorical(logits=self.policy(h)), self.value(h).squeeze(-1)


def gae(rewards, values, dones, last_value, gamma=0.97, lam=0.95):
    advantages = torch.zeros_like(rewards)
    next_adv = torch.zeros_like(last_value)
    next_value = last_value
    for t in reversed(range(len(rewards))):
        mask = 1.0 - dones[t].float()
        delta = rewards[t] + gamma * next_value * mask - values[t]
        next_adv = delta + gamma * lam * mask * next_adv
        advantages[t] = next_adv
        next_value = values[t]
    return advantages, advantages + values


def greedy_steps(model, start=(0, 0)):
    pos = torch.tensor([start], device=device)
    for steps in range(1, 3 * size):
        obs = F.one_hot(pos[:, 0] * size + pos[:, 1], size * size).float()
        with torch.no_grad():
            dist, _ = model(obs)
        pos = (pos + moves[dist.probs.argmax(dim=1)]).clamp(0, size - 1)
        if bool((pos == goal).all()):
            return steps
    return 3 * size


envs = GridWalkers(n_envs)
model = ActorCritic().to(device)
optimizer = torch.optim.RMSprop(model.parameters(), lr=2e-3, alpha=0.99, eps=1e-5)
obs = envs.observe()
episode_return = torch.zeros(n_envs, device=device)
finished = []
print(f'observations {tuple(obs.shape)}; a uniform policy\'s entropy '
      f'{Categorical(logits=torch.zeros(4)).entropy().item():.4f}')
for update in range(1, 101):
    log_probs, values, rewards, dones, entropies = [], [], [], [], []
    for _ in range(n_rollout):
        dist, value = model(obs)
        action = dist.sample()
        obs, reward, done = envs.step(action)
        log_probs.append(dist.log_prob(action))
        entropies.append(dist.entropy())
        values.append(value)
        rewards.append(reward)
        dones.append(done)
        episode_return += reward
        finished += episode_return[done].tolist()
        episode_return = torch.where(done, torch.zeros_like(episode_return), episode_return)
    with torch.no_grad():
        _, last_value = model(obs)
    values = torch.stack(values)
    advantages, returns = gae(torch.stack(rewards), values.detach(), torch.stack(dones),
                              last_value)
    policy_loss = -(torch.stack(log_probs) * advantages).mean()
    value_loss = F.mse_loss(values, returns)
    entropy = torch.stack(entropies).mean()
    loss = policy_loss + 0.5 * value_loss - 0.01 * entropy
    optimizer.zero_grad()
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    optimizer.step()
    if update % 10 == 0:
        recent = finished[-64:]
        print(f'update {update}: mean return {sum(recent) / max(len(recent), 1):.3f} '
              f'| value loss {value_loss.item():.4f} | entropy {entropy.item():.3f} '
              f'| grad norm {grad_norm.item():.3f} | greedy steps from (0, 0) '
              f'{greedy_steps(model)}')
