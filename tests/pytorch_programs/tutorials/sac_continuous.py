"""Soft actor-critic (Haarnoja et al., 2018, "Soft Actor-Critic Algorithms and
Applications"), written for the xpnn tests after the usual single-file implementations
(CleanRL's sac_continuous_action, Spinning Up), on a made-up task in tensor ops (no gym).

The task: a point mass on a line, position and velocity, pushed by a force in [-1, 1] for 25
steps; the reward is minus the squared distance to a target at 0.5, minus a small cost of
the force. 16 copies run side by side. The policy is a tanh-squashed Normal:
``Normal(mean, std).rsample()`` through ``torch.tanh``, its log-probability corrected by
``log(1 - tanh(u)^2)`` (checked against ``TransformedDistribution(Normal,
TanhTransform(cache_size=1))``). Twin Q networks with target copies
(``copy.deepcopy`` + ``requires_grad_(False)``) moved by polyak averaging under
``torch.no_grad`` (``mul_`` / ``add_``, and ``lerp_``); the soft target takes
``torch.min`` of the twin targets minus alpha times the next log-probability; the
temperature is learned as ``log_alpha`` against a target entropy of -1. The replay buffer is
preallocated tensors written by index and sampled by ``torch.randint``. The average return
of deterministic evaluation episodes is printed as the policy improves.

    python tests/pytorch_programs/tutorials/sac_continuous.py
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, TanhTransform, TransformedDistribution

torch.manual_seed(6)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

obs_dim, act_dim, n_envs, horizon = 3, 1, 16, 25
gamma, tau, batch_size, buffer_size = 0.95, 0.02, 128, 4096
target_position = 0.5


class PointMass:
    """n point masses on a line; observation (position, velocity, time left)."""

    def __init__(self, n):
        self.n = n

    def reset(self):
        self.pos = torch.rand(self.n, device=device) * 2 - 1
        self.vel = torch.zeros(self.n, device=device)
        self.t = 0
        return self.observe()

    def observe(self):
        left = torch.full((self.n,), 1 - self.t / horizon, device=device)
        return torch.stack([self.pos, self.vel, left], dim=-1)

    def step(self, action):
        force = action.squeeze(-1).clamp(-1.0, 1.0)
        self.vel = 0.8 * self.vel + 0.1 * force
        self.pos = (self.pos + self.vel).clamp(-2.0, 2.0)
        self.t += 1
        reward = -(self.pos - target_position) ** 2 - 0.01 * force ** 2
        done = torch.full((self.n,), float(self.t == horizon), device=device)
        return self.observe(), reward, done


def mlp(in_dim, out_dim, hidden=64):
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, out_dim))


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = mlp(obs_dim, 2 * act_dim)

    def forward(self, obs):
        mean, log_std = self.body(obs).chunk(2, dim=-1)
        return mean, log_std.clamp(-5.0, 2.0)

    def sample(self, obs):
        mean, log_std = self(obs)
        normal = Normal(mean, log_std.exp())
        u = normal.rsample()
        action = torch.tanh(u)
        log_prob = normal.log_prob(u) - torch.log(1 - action.pow(2) + 1e-6)
        return action, log_prob.sum(-1, keepdim=True), torch.tanh(mean)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.q1 = mlp(obs_dim + act_dim, 1)
        self.q2 = mlp(obs_dim + act_dim, 1)

    def forward(self, obs, action):
        x = torch.cat([obs, action], dim=-1)
        return self.q1(x), self.q2(x)


class ReplayBuffer:
    def __init__(self, size):
        self.obs = torch.zeros(size, obs_dim, device=device)
        self.action = torch.zeros(size, act_dim, device=device)
        self.reward = torch.zeros(size, 1, device=device)
        self.next_obs = torch.zeros(size, obs_dim, device=device)
        self.done = torch.zeros(size, 1, device=device)
        self.size, self.ptr, self.full = size, 0, False

    def add(self, obs, action, reward, next_obs, done):
        idx = (torch.arange(obs.shape[0], device=device) + self.ptr) % self.size
        self.obs[idx] = obs
        self.action[idx] = action
        self.reward[idx] = reward.unsqueeze(-1)
        self.next_obs[idx] = next_obs
        self.done[idx] = done.unsqueeze(-1)
        self.ptr = (self.ptr + obs.shape[0]) % self.size
        self.full = self.full or self.ptr < obs.shape[0]

    def __len__(self):
        return self.size if self.full else self.ptr

    def sample(self, n):
        idx = torch.randint(0, len(self), (n,), device=device)
        return self.obs[idx], self.action[idx], self.reward[idx], self.next_obs[idx], \
            self.done[idx]


actor, critic = Actor().to(device), Critic().to(device)
critic_target = copy.deepcopy(critic).requires_grad_(False)
actor_opt = torch.optim.Adam(actor.parameters(), lr=3e-3)
critic_opt = torch.optim.Adam(critic.parameters(), lr=3e-3)
log_alpha = torch.zeros(1, requires_grad=True, device=device)
alpha_opt = torch.optim.Adam([log_alpha], lr=3e-3)
target_entropy = -float(act_dim)
buffer = ReplayBuffer(buffer_size)
env = PointMass(n_envs)

# the hand-written squashed log-probability against the library's transformed distribution
with torch.no_grad():
    mean, log_std = actor(env.reset())
    squashed = TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform(cache_size=1)])
    a = squashed.sample()
    u = torch.atanh(a.clamp(-0.999999, 0.999999))
    by_hand = Normal(mean, log_std.exp()).log_prob(u) - torch.log(1 - a.pow(2))
    gap = (squashed.log_prob(a) - by_hand).abs().max().item()
print(f'tanh-squashed log_prob: hand-written vs TransformedDistribution within 1e-2: '
      f'{gap < 1e-2}')


def evaluate(episodes=3):
    total = 0.0
    for _ in range(episodes):
        obs = env.reset()
        for _ in range(horizon):
            with torch.no_grad():
                _, _, action = actor.sample(obs)
            obs, reward, _ = env.step(action)
            total += reward.mean().item()
    return total / episodes


def update():
    obs, action, reward, next_obs, done = buffer.sample(batch_size)
    alpha = log_alpha.exp().detach()
    with torch.no_grad():
        next_action, next_log_prob, _ = actor.sample(next_obs)
        q1_t, q2_t = critic_target(next_obs, next_action)
        soft_q = torch.min(q1_t, q2_t) - alpha * next_log_prob
        target_q = reward + gamma * (1 - done) * soft_q
    q1, q2 = critic(obs, action)
    critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
    critic_opt.zero_grad()
    critic_loss.backward()
    critic_opt.step()

    new_action, log_prob, _ = actor.sample(obs)
    q1_pi, q2_pi = critic(obs, new_action)
    actor_loss = (alpha * log_prob - torch.min(q1_pi, q2_pi)).mean()
    actor_opt.zero_grad()
    actor_loss.backward()
    actor_opt.step()

    alpha_loss = -(log_alpha * (log_prob.detach() + target_entropy)).mean()
    alpha_opt.zero_grad()
    alpha_loss.backward()
    alpha_opt.step()

    with torch.no_grad():
        for p, p_t in zip(critic.q1.parameters(), critic_target.q1.parameters()):
            p_t.mul_(1 - tau).add_(tau * p)
        for p, p_t in zip(critic.q2.parameters(), critic_target.q2.parameters()):
            p_t.lerp_(p, tau)
    return critic_loss.item(), actor_loss.item()


print(f'random policy | average return {evaluate():.3f}')
for iteration in range(1, 9):
    obs = env.reset()
    for step in range(horizon):
        with torch.no_grad():
            if iteration == 1:
                action = torch.rand(n_envs, act_dim, device=device) * 2 - 1
            else:
                action, _, _ = actor.sample(obs)
        next_obs, reward, done = env.step(action)
        buffer.add(obs, action, reward, next_obs, done)
        obs = next_obs
        if iteration > 1:
            critic_loss, actor_loss = update()
    if iteration > 1:
        print(f'iteration {iteration} | buffer {len(buffer)} | critic loss {critic_loss:.4f} | '
              f'alpha {log_alpha.exp().item():.3f} | average return {evaluate():.3f}')

frozen = all(not p.requires_grad for p in critic_target.parameters())
drift = max((p - p_t).abs().max().item()
            for p, p_t in zip(critic.parameters(), critic_target.parameters()))
print(f'target critic frozen {frozen}, largest gap to the online critic {drift:.3f}, '
      f'entropy target {target_entropy}, final alpha {math.exp(log_alpha.item()):.3f}')
