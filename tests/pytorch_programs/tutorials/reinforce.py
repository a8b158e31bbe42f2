"""pytorch/examples reinforcement_learning/reinforce.py, written small for the xpnn tests:
a corridor of 6 cells written out here replaces gym's CartPole.

The agent starts at the left end and earns 1 on reaching the right end, -0.05 a step (at
most 30 steps), and a random gust pushes it one cell left now and then. A policy network
(Linear, Dropout, ReLU, Linear, softmax) picks left or right through
``torch.distributions.Categorical``; REINFORCE with discounted returns normalised by
``(returns - returns.mean()) / (returns.std() + eps)`` and ``torch.cat(policy_loss).sum()``.

    python tests/pytorch_programs/tutorials/reinforce.py
"""
import argparse
import random
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

parser = argparse.ArgumentParser(description='PyTorch REINFORCE example')
parser.add_argument('--gamma', type=float, default=0.99, metavar='G',
                    help='discount factor (default: 0.99)')
parser.add_argument('--seed', type=int, default=543, metavar='N',
                    help='random seed (default: 543)')
parser.add_argument('--episodes', type=int, default=120, metavar='N',
                    help='episodes to train (default: 120)')
parser.add_argument('--log-interval', type=int, default=20, metavar='N',
                    help='interval between training status logs (default: 20)')
args = parser.parse_args()


class Corridor:
    """Cells 0..size-1; action 0 steps left, 1 steps right; the episode ends at the right
    end (reward 1) or after max_steps."""

    def __init__(self, size=6, max_steps=30, gust=0.1, seed=0):
        self.size, self.max_steps, self.gust = size, max_steps, gust
        self.rng = random.Random(seed)

    def observe(self):
        state = np.zeros(self.size, dtype=np.float64)
        state[self.pos] = 1.0
        return state

    def reset(self):
        self.pos, self.steps = 0, 0
        return self.observe()

    def step(self, action):
        self.steps += 1
        move = 1 if action == 1 else -1
        if self.rng.random() < self.gust:
            move = -1
        self.pos = min(max(self.pos + move, 0), self.size - 1)
        done = self.pos == self.size - 1
        reward = 1.0 if done else -0.05
        return self.observe(), reward, done or self.steps >= self.max_steps


env = Corridor(seed=args.seed)
torch.manual_seed(args.seed)


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(6, 64)
        self.dropout = nn.Dropout(p=0.2)
        self.affine2 = nn.Linear(64, 2)

        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


policy = Policy()
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
eps = np.finfo(np.float32).eps.item()


def select_action(state):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = m.sample()
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()


def finish_episode():
    R = 0
    policy_loss = []
    returns = deque()
    for r in policy.rewards[::-1]:
        R = r + args.gamma * R
        returns.appendleft(R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]
    return policy_loss.item()


def main():
    running_length = 30.0
    for i_episode in range(1, args.episodes + 1):
        state, ep_reward = env.reset(), 0
        for t in range(1, 10000):
            action = select_action(state)
            state, reward, done = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_length = 0.1 * t + (1 - 0.1) * running_length
        loss = finish_episode()
        if i_episode % args.log_interval == 0:
            print('Episode {}\tLast length: {:5d}\tLast reward: {:.2f}\tLoss: {:.4f}\t'
                  'Average length: {:.2f}'.format(i_episode, t, ep_reward, loss,
                                                  running_length))
    print('Final average episode length: {:.2f}'.format(running_length))


if __name__ == '__main__':
    main()
