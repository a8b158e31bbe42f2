"""Proximal policy optimization (Schulman et al., 2017) with an actor-critic on a continuous
task, written for the xpnn tests after the usual single-file PPO implementations (CleanRL's
ppo_continuous_action): 32 copies of a made-up environment, written in tensor ops, run side
by side.

The environment: a point in the plane starts somewhere in [-1, 1]^2 and is pushed by the
action (clipped to [-1, 1] per coordinate, times 0.1) for 20 steps; the reward is minus its
distance to the origin, minus a small cost of the action. The policy is a
``torch.distributions.Normal`` whose mean comes from a network and whose log standard
deviation is a state-independent ``nn.Parameter``; ``log_prob(...).sum(-1)`` gives the
log-probability of a 2-D action. Advantages by GAE, computed backwards in a loop; the
clipped ratio objective (``torch.clamp``, ``torch.min``), a value loss and an entropy bonus;
4 epochs of minibatches drawn by ``torch.randperm``; ``clip_grad_norm_``. The average return
of each rollout is printed as it improves.

    python tests/pytorch_programs/tutorials/ppo.py
"""
import torch
import torch.nn as nn
from torch.distributions import Normal

torch.manual_seed(1)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_envs, horizon, obs_dim, act_dim = 32, 20, 2, 2
gamma, gae_lambda, clip_coef = 0.99, 0.95, 0.2
ent_coef, vf_coef, max_grad_norm = 0.001, 0.5, 0.5
n_epochs, n_minibatches = 4, 2


class PointEnv:
    """n copies of a point pushed towards the origin; all state in one tensor."""

    def __init__(self, n):
        self.n = n

    def reset(self):
        self.pos = torch.rand(self.n, obs_dim, device=device) * 2 - 1
        return self.pos.clone()

    def step(self, action):
        action = action.clamp(-1.0, 1.0)
        self.pos = self.pos + 0.1 * action
        reward = -self.pos.norm(dim=-1) - 0.01 * (action ** 2).sum(-1)
        return self.pos.clone(), reward


def layer_init(layer, std=2 ** 0.5, bias_const=0.0):
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias_const)
    return layer


class ActorCritic(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.critic = nn.Sequential(layer_init(nn.Linear(obs_dim, hidden)), nn.Tanh(),
                                    layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
                                    layer_init(nn.Linear(hidden, 1), std=1.0))
        self.actor_mean = nn.Sequential(layer_init(nn.Linear(obs_dim, hidden)), nn.Tanh(),
                                        layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
                                        layer_init(nn.Linear(hidden, act_dim), std=0.01))
        self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))

    def get_value(self, x):
        return self.critic(x).squeeze(-1)

    def get_action_and_value(self, x, action=None):
        mean = self.actor_mean(x)
        std = self.actor_logstd.expand_as(mean).exp()
        dist = Normal(mean, std)
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action).sum(-1), dist.entropy().sum(-1), self.get_value(x)


env = PointEnv(n_envs)
agent = ActorCritic().to(device)
optimizer = torch.optim.Adam(agent.parameters(), lr=3e-3, eps=1e-5)
print(agent)

obs_buf = torch.zeros(horizon, n_envs, obs_dim, device=device)
act_buf = torch.zeros(horizon, n_envs, act_dim, device=device)
logp_buf = torch.zeros(horizon, n_envs, device=device)
rew_buf = torch.zeros(horizon, n_envs, device=device)
val_buf = torch.zeros(horizon, n_envs, device=device)
batch_size = horizon * n_envs
minibatch_size = batch_size // n_minibatches

for update in range(1, 21):
    obs = env.reset()
    agent.eval()
    with torch.no_grad():
        for t in range(horizon):
            obs_buf[t] = obs
            action, logp, _, value = agent.get_action_and_value(obs)
            act_buf[t], logp_buf[t], val_buf[t] = action, logp, value
            obs, reward = env.step(action)
            rew_buf[t] = reward
        next_value = agent.get_value(obs)
        # GAE(lambda), backwards in time; the episode is cut at the horizon, where the value
        # of the last state stands in for the rest
        advantages = torch.zeros_like(rew_buf)
        last_gae = torch.zeros(n_envs, device=device)
        for t in reversed(range(horizon)):
            next_v = next_value if t == horizon - 1 else val_buf[t + 1]
            delta = rew_buf[t] + gamma * next_v - val_buf[t]
            last_gae = delta + gamma * gae_lambda * last_gae
            advantages[t] = last_gae
        returns = advantages + val_buf

    b_obs, b_act = obs_buf.reshape(-1, obs_dim), act_buf.reshape(-1, act_dim)
    b_logp, b_adv = logp_buf.reshape(-1), advantages.reshape(-1)
    b_ret, b_val = returns.reshape(-1), val_buf.reshape(-1)

    agent.train()
    clip_fracs = []
    for epoch in range(n_epochs):
        perm = torch.randperm(batch_size, device=device)
        for start in range(0, batch_size, minibatch_size):
            mb = perm[start:start + minibatch_size]
            _, new_logp, entropy, new_value = agent.get_action_and_value(b_obs[mb], b_act[mb])
            ratio = (new_logp - b_logp[mb]).exp()
            with torch.no_grad():
                clip_fracs.append(((ratio - 1.0).abs() > clip_coef).float().mean().item())
            mb_adv = b_adv[mb]
            mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
            surr1 = ratio * mb_adv
            surr2 = torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef) * mb_adv
            pg_loss = -torch.min(surr1, surr2).mean()
            v_loss = 0.5 * ((new_value - b_ret[mb]) ** 2).mean()
            loss = pg_loss - ent_coef * entropy.mean() + vf_coef * v_loss
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
            optimizer.step()

    if update % 4 == 0:
        avg_return = rew_buf.sum(0).mean().item()
        print(f'update {update:2d} | average return {avg_return:.3f} | value loss '
              f'{v_loss.item():.4f} | clip fraction {sum(clip_fracs) / len(clip_fracs):.3f} | '
              f'std {agent.actor_logstd.exp().mean().item():.3f}')

agent.eval()
with torch.no_grad():
    obs = env.reset()
    total = torch.zeros(n_envs, device=device)
    for t in range(horizon):
        obs, reward = env.step(agent.actor_mean(obs))
        total += reward
print(f'deterministic policy: average return {total.mean().item():.3f}, final distance '
      f'{obs.norm(dim=-1).mean().item():.3f}')
