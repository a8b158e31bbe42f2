"""A Neural Turing Machine (Graves, Wayne and Danihelka, 2014, "Neural Turing Machines"),
written for the xpnn tests after the paper's addressing equations, on the copy task.

An ``nn.LSTMCell`` controller reads the input bits and the last read vector and emits, for a
read head and a write head, a key, a key strength, an interpolation gate, a shift
distribution over {-1, 0, +1} and a sharpening exponent. Addressing: content weights by
``F.cosine_similarity`` of the key against every memory slot (broadcast over slots) under
a softmax, interpolated with the previous weights by the gate, circularly shifted (the sum
of ``torch.roll``s weighted by the shift distribution, checked once against a circular
convolution by ``F.pad(mode="circular")`` and ``unfold``), sharpened by ``pow`` and
renormalized. The write head erases and adds by outer products (``torch.einsum``, checked
once against ``torch.outer`` per example); the read is an ``einsum`` of the read weights and
the memory, which starts as a buffer of small ``torch.randn`` values. BCEWithLogitsLoss on
the output phase, RMSprop (momentum, as in the paper) with ``clip_grad_value_``; the bit
errors per sequence.

    python tests/pytorch_programs/tutorials/neural_turing_memory.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)

width, length = 4, 4          # bits per step, steps to copy
slots, cell = 12, 8           # memory N x M


def make_batch(count):
    """Inputs (T, B, width + 1): the bits, a delimiter flag, then blanks; targets
    (length, B, width): the bits again."""
    bits = rng.integers(0, 2, (length, count, width)).astype(np.float32)
    x = np.zeros((2 * length + 1, count, width + 1), np.float32)
    x[:length, :, :width] = bits
    x[length, :, width] = 1.0
    return torch.from_numpy(x), torch.from_numpy(bits)


def shift_by_roll(w, s):
    """Circular convolution of the weights (B, N) with shifts s (B, 3) over -1, 0, +1."""
    return sum(s[:, k:k + 1] * torch.roll(w, shifts=k - 1, dims=1) for k in range(3))


def shift_by_pad(w, s):
    padded = F.pad(w.unsqueeze(1), (1, 1), mode="circular").squeeze(1)   # (B, N + 2)
    windows = padded.unfold(1, 3, 1)                                     # (B, N, 3)
    return (windows * s.flip(1).unsqueeze(1)).sum(dim=-1)


class Head(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.params = nn.Linear(hidden, cell + 1 + 1 + 3 + 1)

    def address(self, h, memory, w_prev):
        k, beta, g, s, gamma = torch.split(self.params(h), [cell, 1, 1, 3, 1], dim=-1)
        similarity = F.cosine_similarity(k.unsqueeze(1), memory, dim=-1, eps=1e-8)  # (B, N)
        w_c = torch.softmax(F.softplus(beta) * similarity, dim=-1)
        g = torch.sigmoid(g)
        w_g = g * w_c + (1 - g) * w_prev
        w_s = shift_by_roll(w_g, torch.softmax(s, dim=-1))
        w = w_s.pow(1 + F.softplus(gamma))
        return w / (w.sum(dim=-1, keepdim=True) + 1e-16)


class NTM(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.controller = nn.LSTMCell(width + 1 + cell, hidden)
        self.read_head = Head(hidden)
        self.write_head = Head(hidden)
        self.erase_add = nn.Linear(hidden, 2 * cell)
        self.out = nn.Linear(hidden + cell, width)
        self.register_buffer("memory0", 0.1 * torch.randn(slots, cell))
        self.hidden = hidden

    def forward(self, x):
        T, B, _ = x.shape
        h = c = torch.zeros(B, self.hidden)
        memory = self.memory0.expand(B, slots, cell)
        start = F.one_hot(torch.zeros(B, dtype=torch.long), slots).float()
        w_read, w_write = start, start
        read = torch.zeros(B, cell)
        outputs = []
        for t in range(T):
            h, c = self.controller(torch.cat([x[t], read], dim=-1), (h, c))
            w_write = self.write_head.address(h, memory, w_write)
            erase, add = self.erase_add(h).chunk(2, dim=-1)
            erase = torch.sigmoid(erase)
            memory = (memory * (1 - torch.einsum("bn,bm->bnm", w_write, erase))
                      + torch.einsum("bn,bm->bnm", w_write, torch.tanh(add)))
            w_read = self.read_head.address(h, memory, w_read)
            read = torch.einsum("bn,bnm->bm", w_read, memory)
            outputs.append(self.out(torch.cat([h, read], dim=-1)))
        return torch.stack(outputs)[length + 1:], memory, (w_write, erase, add)


model = NTM()
optimizer = torch.optim.RMSprop(model.parameters(), lr=3e-3, momentum=0.9, alpha=0.95)
criterion = nn.BCEWithLogitsLoss()
x_test, y_test = make_batch(64)


def evaluate(tag):
    model.eval()
    with torch.no_grad():
        logits, memory, _ = model(x_test)
        loss = criterion(logits, y_test).item()
        errors = ((logits > 0).float() != y_test).float().sum(dim=(0, 2)).mean().item()
    model.train()
    print(f"{tag} | test loss {loss:.4f} | bit errors per sequence {errors:.3f}")
    return memory


memory = evaluate("untrained")

# the two circular shifts agree, and the batched write equals one torch.outer per example
with torch.no_grad():
    w = torch.softmax(torch.from_numpy(rng.standard_normal((5, slots)).astype(np.float32)), -1)
    s = torch.softmax(torch.from_numpy(rng.standard_normal((5, 3)).astype(np.float32)), -1)
    print("roll shift == circular pad shift:", torch.allclose(shift_by_roll(w, s),
                                                              shift_by_pad(w, s), atol=1e-6))
    _, _, (w_write, erase, add) = model(x_test[:, :2])
    batched = torch.einsum("bn,bm->bnm", w_write, erase)
    print("einsum write == torch.outer:", all(torch.allclose(batched[b],
                                                             torch.outer(w_write[b], erase[b]))
                                              for b in range(2)))

for epoch in range(1, 7):
    total = 0.0
    for step in range(20):
        x, y = make_batch(32)
        logits, _, _ = model(x)
        loss = criterion(logits, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 10.0)
        optimizer.step()
        total += loss.item()
    memory = evaluate(f"epoch {epoch} | train loss {total / 20:.4f}")
print("memory after the test batch's first sequence, slot norms:",
      memory[0].norm(dim=-1).round(decimals=2))
