"""A selective state-space model (Gu and Dao, 2023, "Mamba: Linear-Time Sequence Modeling
with Selective State Spaces"), written for the xpnn tests after the paper's block, on a
made-up selective-copy task.

Each sequence holds three data tokens at random positions among noise tokens, then three
marker tokens; at the markers the model must emit the data tokens in order. A Mamba block
projects the input into two branches; one goes through a depthwise causal
``nn.Conv1d(d, d, k, groups=d, padding=k - 1)`` sliced back to ``[..., :L]`` and ``F.silu``,
then a selective SSM whose step ``dt`` (``F.softplus``), input matrix B and output matrix C
depend on the input. A = -exp(A_log), with ``A_log`` an ``nn.Parameter`` of
``torch.log(torch.arange(1, N + 1)).repeat``; the discretisation
exp(einsum(dt, A)) and the selective scan run as a Python loop over time collected by
``torch.stack``, checked once against a parallel log-space form (``torch.cumsum``, a masked
exponential) by ``torch.allclose``. The other branch gates the output through ``F.silu``.
A hand-written RMSNorm (x * rsqrt(mean(x^2) + eps) * weight) precedes each block; the
embedding and the output weights are tied. AdamW with two parameter groups (no weight
decay for norms, biases, A_log and D, chosen by name) and gradient clipping.

    python tests/pytorch_programs/tutorials/mamba_ssm.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(1)
rng = np.random.default_rng(1)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_data, n_copy, body = 6, 3, 10      # data tokens 1..6, copy 3, noise positions
NOISE, MARK = 0, n_data + 1
vocab = n_data + 2
seq_len = body + n_copy


def make_batch(count):
    x = np.full((count, seq_len), NOISE, dtype=np.int64)
    y = np.full((count, seq_len), -100, dtype=np.int64)
    for row in range(count):
        where = np.sort(rng.choice(body, n_copy, replace=False))
        tokens = rng.integers(1, n_data + 1, n_copy)
        x[row, where] = tokens
        x[row, body:] = MARK
        y[row, body:] = tokens
    return torch.from_numpy(x), torch.from_numpy(y)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def selective_scan(u, dt, A, B, C, D):
    """The recurrence h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t, y_t = C_t h_t + D u_t, one
    step per time position."""
    dA = torch.exp(torch.einsum('bld,dn->bldn', dt, A))
    dBu = torch.einsum('bld,bln,bld->bldn', dt, B, u)
    h = torch.zeros(u.shape[0], u.shape[2], A.shape[1], device=u.device)
    ys = []
    for t in range(u.shape[1]):
        h = dA[:, t] * h + dBu[:, t]
        ys.append(torch.einsum('bdn,bn->bd', h, C[:, t]))
    return torch.stack(ys, dim=1) + u * D


def parallel_scan(u, dt, A, B, C, D):
    """The same outputs at once: h_t = sum_{s <= t} exp(S_t - S_s) dt_s B_s u_s with S the
    cumulative sum of dt A (log-space decays), masked above the diagonal."""
    S = torch.cumsum(torch.einsum('bld,dn->bldn', dt, A), dim=1)
    dBu = torch.einsum('bld,bln,bld->bldn', dt, B, u)
    L = u.shape[1]
    diff = S[:, :, None] - S[:, None, :]                    # (b, t, s, d, n)
    causal = torch.tril(torch.ones(L, L, dtype=torch.bool, device=u.device))
    decay = torch.exp(diff.masked_fill(~causal[None, :, :, None, None], float('-inf')))
    h = torch.einsum('btsdn,bsdn->btdn', decay, dBu)
    return torch.einsum('btdn,btn->btd', h, C) + u * D


class MambaBlock(nn.Module):
    def __init__(self, d_model, d_state=8, expand=2, d_conv=4):
        super().__init__()
        d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 8)
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner)
        A = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1)
        self.A_log = nn.Parameter(A)
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        self.d_state = d_state

    def ssm_inputs(self, x):
        L = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = self.conv1d(u.transpose(1, 2))[..., :L].transpose(1, 2)
        u = F.silu(u)
        dt, B, C = torch.split(self.x_proj(u), [self.dt_rank, self.d_state, self.d_state],
                               dim=-1)
        dt = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log)
        return u, z, dt, A, B, C

    def forward(self, x):
        u, z, dt, A, B, C = self.ssm_inputs(x)
        y = selective_scan(u, dt, A, B, C, self.D)
        return self.out_proj(y * F.silu(z))


class Mamba(nn.Module):
    def __init__(self, vocab, d_model=32, n_layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.layers = nn.ModuleList(MambaBlock(d_model) for _ in range(n_layers))
        self.norms = nn.ModuleList(RMSNorm(d_model) for _ in range(n_layers))
        self.norm_f = RMSNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab, bias=False)
        self.lm_head.weight = self.embedding.weight
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, tokens):
        x = self.embedding(tokens)
        for norm, layer in zip(self.norms, self.layers):
            x = x + layer(norm(x))
        return self.lm_head(self.norm_f(x))


train_x, train_y = make_batch(256)
test_x, test_y = make_batch(128)
print(f'example input  {train_x[0].tolist()}')
print(f'example target {train_y[0, body:].tolist()}')
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)

model = Mamba(vocab).to(device)
print(f'tied: {model.lm_head.weight is model.embedding.weight}, parameters '
      f'{sum(p.numel() for p in model.parameters())}')

decay, no_decay = [], []
for name, p in model.named_parameters():
    if p.ndim < 2 or 'norm' in name or name.endswith('A_log') or name.endswith('.D'):
        no_decay.append(p)
    else:
        decay.append(p)
print(f'decayed tensors {len(decay)}, not decayed {len(no_decay)}')
optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1},
                               {'params': no_decay, 'weight_decay': 0.0}], lr=4e-3)
criterion = nn.CrossEntropyLoss(ignore_index=-100)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = model(test_x.to(device))
        target = test_y.to(device)
        loss = criterion(logits.reshape(-1, vocab), target.reshape(-1)).item()
        pred = logits[:, body:].argmax(-1)
        accuracy = (pred == target[:, body:]).float().mean().item()
    model.train()
    return loss, accuracy


loss, accuracy = evaluate()
print(f'untrained | test loss {loss:.4f} | token accuracy {accuracy:.3f}')

# the loop over time against the parallel form, once
with torch.no_grad():
    block = model.layers[0]
    u, z, dt, A, B, C = block.ssm_inputs(model.embedding(test_x[:4].to(device)))
    loop = selective_scan(u, dt, A, B, C, block.D)
    par = parallel_scan(u, dt, A, B, C, block.D)
    print(f'scan loop vs parallel: allclose {torch.allclose(loop, par, rtol=1e-4, atol=1e-5)}'
          f', shape {tuple(loop.shape)}')

for epoch in range(1, 6):
    total, norms = 0.0, []
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = criterion(logits.view(-1, vocab), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), 1.0).item())
        optimizer.step()
        total += loss.item()
    loss, accuracy = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'token accuracy {accuracy:.3f} | max grad norm {max(norms):.3f}')

print(f'A[0, :4] after training {(-torch.exp(model.layers[0].A_log[0, :4])).detach()}')
