"""A hidden Markov model trained by gradient ascent on the log-likelihood (the forward
algorithm, Rabiner 1989, written in log space as in a PyTorch HMM tutorial), then Viterbi
decoding, on made-up variable-length sequences sampled from a known HMM.

The initial, transition and emission log-probabilities are ``log_softmax`` of free
parameters. The forward recursion adds the previous log-alphas to the transition matrix
as a broadcast (B, K, K) and reduces it by ``torch.logsumexp``; padded steps keep the
previous alphas through ``torch.where`` on a length mask. Viterbi takes the max over the
previous state (its argmax kept as back-pointers in a list) and backtracks them with
``gather``. Adam maximises the mean log-likelihood per step; the decoded states are
scored against the true ones (under the best relabelling of the learned states).

    python tests/pytorch_programs/tutorials/hmm_forward_viterbi.py
"""
import itertools

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
K, V, T_MAX = 3, 6, 20

TRUE_PI = np.array([0.6, 0.3, 0.1])
TRUE_A = np.array([[0.85, 0.10, 0.05], [0.10, 0.80, 0.10], [0.05, 0.15, 0.80]])
TRUE_B = np.array([[0.50, 0.30, 0.10, 0.05, 0.03, 0.02],
                   [0.05, 0.10, 0.50, 0.25, 0.05, 0.05],
                   [0.02, 0.03, 0.05, 0.10, 0.30, 0.50]])


def sample(count):
    lengths = rng.integers(T_MAX // 2, T_MAX + 1, count)
    obs = np.zeros((count, T_MAX), dtype=np.int64)
    states = np.zeros((count, T_MAX), dtype=np.int64)
    for i, length in enumerate(lengths):
        z = rng.choice(K, p=TRUE_PI)
        for t in range(length):
            if t:
                z = rng.choice(K, p=TRUE_A[z])
            states[i, t] = z
            obs[i, t] = rng.choice(V, p=TRUE_B[z])
    return torch.tensor(obs), torch.tensor(states), torch.tensor(lengths)


class HMM(nn.Module):
    def __init__(self, k, v):
        super().__init__()
        self.initial = nn.Parameter(torch.randn(k) * 0.1)
        self.transition = nn.Parameter(torch.randn(k, k) * 0.1 + 2.0 * torch.eye(k))
        self.emission = nn.Parameter(torch.randn(k, v))

    def log_params(self):
        return (torch.log_softmax(self.initial, 0), torch.log_softmax(self.transition, 1),
                torch.log_softmax(self.emission, 1))

    def forward(self, obs, lengths):
        """The log-likelihood of each sequence, by the forward algorithm."""
        log_pi, log_a, log_b = self.log_params()
        alpha = log_pi + log_b[:, obs[:, 0]].T                           # (B, K)
        for t in range(1, obs.shape[1]):
            scores = alpha.unsqueeze(2) + log_a.unsqueeze(0)             # (B, K, K)
            new = torch.logsumexp(scores, dim=1) + log_b[:, obs[:, t]].T
            alpha = torch.where((t < lengths).unsqueeze(1), new, alpha)
        return torch.logsumexp(alpha, dim=1)

    @torch.no_grad()
    def viterbi(self, obs, lengths):
        log_pi, log_a, log_b = self.log_params()
        delta = log_pi + log_b[:, obs[:, 0]].T
        pointers = []
        for t in range(1, obs.shape[1]):
            scores = delta.unsqueeze(2) + log_a.unsqueeze(0)
            best, arg = scores.max(dim=1)
            live = (t < lengths).unsqueeze(1)
            delta = torch.where(live, best + log_b[:, obs[:, t]].T, delta)
            # a padded step points each state at itself, so the backtrack passes through
            pointers.append(torch.where(live, arg, torch.arange(K).expand_as(arg)))
        path = [delta.argmax(dim=1, keepdim=True)]
        for arg in reversed(pointers):
            path.append(arg.gather(1, path[-1]))
        return torch.cat(path[::-1], dim=1)


def state_accuracy(model, obs, states, lengths):
    decoded = model.viterbi(obs, lengths)
    mask = torch.arange(T_MAX).unsqueeze(0) < lengths.unsqueeze(1)
    best = 0.0
    for perm in itertools.permutations(range(K)):
        relabelled = torch.tensor(perm)[decoded]
        best = max(best, ((relabelled == states) & mask).sum().item() / mask.sum().item())
    return best


train_obs, train_states, train_len = sample(256)
test_obs, test_states, test_len = sample(128)
model = HMM(K, V)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

with torch.no_grad():
    untrained_nll = (-model(test_obs, test_len).sum() / test_len.sum()).item()
    print(f'untrained | test nll {untrained_nll:.4f} | viterbi state accuracy '
          f'{state_accuracy(model, test_obs, test_states, test_len):.3f}')
    truth = HMM(K, V)
    truth.initial.copy_(torch.tensor(np.log(TRUE_PI), dtype=torch.float32))
    truth.transition.copy_(torch.tensor(np.log(TRUE_A), dtype=torch.float32))
    truth.emission.copy_(torch.tensor(np.log(TRUE_B), dtype=torch.float32))
    true_ll = (truth(test_obs, test_len).sum() / test_len.sum()).item()
    print(f'true model | test log-lik per step {true_ll:.4f} | viterbi state accuracy '
          f'{state_accuracy(truth, test_obs, test_states, test_len):.3f}')

loader = DataLoader(TensorDataset(train_obs, train_len), batch_size=32, shuffle=True)
for epoch in range(1, 9):
    total = 0.0
    for obs, lengths in loader:
        loss = -model(obs, lengths).sum() / lengths.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_nll = (-model(test_obs, test_len).sum() / test_len.sum()).item()
    accuracy = state_accuracy(model, test_obs, test_states, test_len)
    print(f'epoch {epoch} | train nll {total / len(loader):.4f} | test nll {test_nll:.4f} | '
          f'viterbi state accuracy {accuracy:.3f}')
