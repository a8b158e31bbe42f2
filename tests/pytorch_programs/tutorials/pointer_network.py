"""A pointer network (Vinyals, Fortunato and Jaitly, 2015, "Pointer Networks") that learns to
sort numbers, written for the xpnn tests after the paper, first by teacher forcing and then by
REINFORCE with a greedy-rollout baseline (Kool, van Hoof and Welling, 2019).

An ``nn.LSTM`` encoder reads the numbers (each embedded by an ``nn.Linear``); an
``nn.LSTMCell`` decoder starts from the encoder's final state and a learned
``nn.Parameter`` start input. At each step additive attention scores every position,
v^T tanh(W_e e_j + W_d d), positions already chosen are blocked by ``masked_fill`` with
``-inf``, and ``F.log_softmax`` gives the pointer distribution. Teacher forcing feeds the
embedding of the correct next element, picked by ``gather`` with an expanded ``argsort``
index, and the loss is the NLL of the pointers (``gather`` of the log-probabilities). Then
REINFORCE: pointers sampled by ``torch.distributions.Categorical`` (its ``log_prob`` and
``entropy``), a reward of how many positions are right, minus the reward of the greedy
decode under ``torch.no_grad`` as the baseline. The evaluation decodes greedily, and at the end
also as the best of 8 tours drawn by ``torch.multinomial``.

    python tests/pytorch_programs/tutorials/pointer_network.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

torch.manual_seed(0)
rng = np.random.default_rng(0)
n = 6


def numbers(count):
    return torch.from_numpy(rng.random((count, n), dtype=np.float32))


class PointerNet(nn.Module):
    def __init__(self, hidden=48):
        super().__init__()
        self.embed = nn.Linear(1, hidden)
        self.encoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(hidden, hidden)
        self.W_e = nn.Linear(hidden, hidden, bias=False)
        self.W_d = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)
        self.start = nn.Parameter(torch.zeros(hidden).uniform_(-0.1, 0.1))

    def forward(self, x, targets=None, mode="greedy"):
        """Pointers (B, n), their log-probabilities summed (B,) and the mean entropy;
        ``targets`` teacher-forces the inputs and returns the per-step log-probs (B, n, n)."""
        B = x.shape[0]
        emb = self.embed(x.unsqueeze(-1))                        # (B, n, H)
        enc, (h, c) = self.encoder(emb)
        h, c = h[0], c[0]
        keys = self.W_e(enc)
        inp = self.start.expand(B, -1)
        chosen = torch.zeros(B, n, dtype=torch.bool)
        pointers, logps, entropy, steps = [], [], 0.0, []
        for i in range(n):
            h, c = self.decoder(inp, (h, c))
            scores = self.v(torch.tanh(keys + self.W_d(h).unsqueeze(1))).squeeze(-1)
            logp = F.log_softmax(scores.masked_fill(chosen, float("-inf")), dim=-1)
            if targets is not None:
                steps.append(logp)
                ptr = targets[:, i]
            elif mode == "sample":
                dist = Categorical(logits=logp)
                ptr = dist.sample()
                logps.append(dist.log_prob(ptr))
                entropy = entropy + dist.entropy().mean() / n
            elif mode == "multinomial":
                ptr = torch.multinomial(logp.exp(), 1).squeeze(1)
            else:
                ptr = logp.argmax(dim=-1)
            pointers.append(ptr)
            chosen = chosen | F.one_hot(ptr, n).bool()
            index = ptr.view(B, 1, 1).expand(B, 1, emb.shape[-1])
            inp = emb.gather(1, index).squeeze(1)
        if targets is not None:
            return torch.stack(steps, dim=1)
        logp_sum = torch.stack(logps, dim=1).sum(dim=1) if logps else None
        return torch.stack(pointers, dim=1), logp_sum, entropy


def reward(x, pointers):
    """How many positions of the tour hold the right element."""
    return (pointers == x.argsort(dim=1)).float().sum(dim=1)


model = PointerNet()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
x_test = numbers(128)


def evaluate(tag, sampled=False):
    model.eval()
    with torch.no_grad():
        logp = model(x_test, targets=x_test.argsort(dim=1))
        nll = -logp.gather(2, x_test.argsort(dim=1).unsqueeze(2)).sum(dim=(1, 2)).mean().item()
        greedy, _, _ = model(x_test)
        right = reward(x_test, greedy)
        line = (f"{tag} | test nll {nll:.4f} | greedy positions right "
                f"{right.mean().item():.3f} | sorted {(right == n).float().mean().item():.3f}")
        if sampled:
            best = torch.stack([reward(x_test, model(x_test, mode="multinomial")[0])
                                for _ in range(8)]).amax(dim=0)
            line += f" | best of 8 sampled {best.mean().item():.3f}"
    model.train()
    print(line)


evaluate("untrained")
for epoch in range(1, 5):
    total = 0.0
    for step in range(25):
        x = numbers(64)
        targets = x.argsort(dim=1)
        logp = model(x, targets=targets)
        loss = -logp.gather(2, targets.unsqueeze(2)).squeeze(2).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        total += loss.item()
    print(f"teacher forcing epoch {epoch} | train nll {total / 25:.4f}")
    evaluate(f"teacher forcing epoch {epoch}")

for g in optimizer.param_groups:
    g["lr"] = 1e-3
for epoch in range(1, 4):
    total_r, total_adv = 0.0, 0.0
    for step in range(25):
        x = numbers(64)
        pointers, logp_sum, entropy = model(x, mode="sample")
        with torch.no_grad():
            baseline = reward(x, model(x)[0])
        r = reward(x, pointers)
        advantage = r - baseline
        loss = -(advantage * logp_sum).mean() - 0.01 * entropy
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        total_r += r.mean().item()
        total_adv += advantage.mean().item()
    print(f"reinforce epoch {epoch} | sampled positions right {total_r / 25:.3f} | "
          f"advantage {total_adv / 25:.3f}")
    evaluate(f"reinforce epoch {epoch}", sampled=epoch == 3)
