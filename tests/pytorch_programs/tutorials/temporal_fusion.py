"""A small Temporal Fusion Transformer (Lim et al., 2021, "Temporal Fusion Transformers for
interpretable multi-horizon time series forecasting"), written for the xpnn tests on made-up
multivariate series.

Four observed inputs (a seasonal signal, a trend, a noise channel and a lagged copy of the
target) drive a target; at every time step the model gives the 10%, 50% and 90% quantiles of
the next value. The parts follow the paper:

* gated residual networks: ``nn.Linear`` -> ``nn.ELU`` -> ``nn.Linear`` -> dropout ->
  a gated linear unit ``F.glu`` -> add the (projected) input -> ``nn.LayerNorm``;
* variable selection: each input embedded by its own ``nn.Linear(1, d)`` and its own GRN
  (``nn.ModuleList``), the results ``torch.stack``-ed and weighted by ``softmax`` weights
  from a GRN over all of them flattened, combined by ``torch.einsum``;
* an ``nn.LSTM`` encoder with a gated skip connection;
* interpretable self-attention: ``nn.MultiheadAttention(batch_first=True)`` under a causal
  ``torch.triu`` mask, called with ``need_weights=True, average_attn_weights=False`` so the
  per-head weights come back; their shape, their rows' sums and a few values are printed;
* a multi-quantile pinball loss (``torch.max`` of ``q * e`` and ``(q - 1) * e``).

Adam over a ``DataLoader(TensorDataset, shuffle=True)``; the test loss, the 10-90% interval
coverage and the mean variable-selection weights are printed.

    python tests/pytorch_programs/tutorials/temporal_fusion.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_vars, seq_len, d_model, n_heads = 4, 16, 16, 4
quantiles = torch.tensor([0.1, 0.5, 0.9], device=device)


def make_series(count):
    t = np.arange(seq_len + 1)[None, :] + rng.uniform(0, 20, (count, 1))
    season = np.sin(2 * np.pi * t / 8)
    trend = 0.05 * (t - t.mean(axis=1, keepdims=True))
    noise = rng.normal(size=t.shape)
    target = 0.8 * season + trend + 0.1 * rng.normal(size=t.shape)
    lagged = np.concatenate([np.zeros((count, 1)), target[:, :-1]], axis=1)
    x = np.stack([season, trend, noise, lagged], axis=-1)[:, :-1]
    y = target[:, 1:]
    return (torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32)))


class GRN(nn.Module):
    def __init__(self, d_in, d_hidden, d_out, dropout=0.1):
        super().__init__()
        self.skip = nn.Linear(d_in, d_out) if d_in != d_out else nn.Identity()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.elu = nn.ELU()
        self.fc2 = nn.Linear(d_hidden, d_hidden)
        self.dropout = nn.Dropout(dropout)
        self.gate = nn.Linear(d_hidden, 2 * d_out)
        self.norm = nn.LayerNorm(d_out)

    def forward(self, a):
        h = self.fc2(self.elu(self.fc1(a)))
        h = F.glu(self.gate(self.dropout(h)), dim=-1)
        return self.norm(self.skip(a) + h)


class VariableSelection(nn.Module):
    def __init__(self, n_vars, d):
        super().__init__()
        self.embed = nn.ModuleList([nn.Linear(1, d) for _ in range(n_vars)])
        self.per_var = nn.ModuleList([GRN(d, d, d) for _ in range(n_vars)])
        self.weights = GRN(n_vars * d, d, n_vars)

    def forward(self, x):                                    # x: (B, T, V)
        embedded = [emb(x[..., i:i + 1]) for i, emb in enumerate(self.embed)]
        flat = torch.cat(embedded, dim=-1)                   # (B, T, V * d)
        w = torch.softmax(self.weights(flat), dim=-1)        # (B, T, V)
        processed = torch.stack([grn(e) for grn, e in zip(self.per_var, embedded)], dim=-2)
        return torch.einsum('btv,btvd->btd', w, processed), w


class TemporalFusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.select = VariableSelection(n_vars, d_model)
        self.lstm = nn.LSTM(d_model, d_model, batch_first=True)
        self.lstm_gate = nn.Linear(d_model, 2 * d_model)
        self.lstm_norm = nn.LayerNorm(d_model)
        self.enrich = GRN(d_model, d_model, d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.attn_gate = nn.Linear(d_model, 2 * d_model)
        self.attn_norm = nn.LayerNorm(d_model)
        self.out_grn = GRN(d_model, d_model, d_model)
        self.head = nn.Linear(d_model, len(quantiles))
        mask = torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1)
        self.register_buffer('causal_mask', mask)

    def forward(self, x):
        selected, var_weights = self.select(x)
        h, _ = self.lstm(selected)
        h = self.lstm_norm(selected + F.glu(self.lstm_gate(h), dim=-1))
        e = self.enrich(h)
        a, attn = self.attn(e, e, e, attn_mask=self.causal_mask, need_weights=True,
                            average_attn_weights=False)
        a = self.attn_norm(e + F.glu(self.attn_gate(a), dim=-1))
        return self.head(self.out_grn(a)), var_weights, attn


def pinball(pred, target):
    error = target.unsqueeze(-1) - pred                    # (B, T, Q)
    return torch.max(quantiles * error, (quantiles - 1) * error).mean()


x_train, y_train = make_series(384)
x_test, y_test = make_series(128)
x_test, y_test = x_test.to(device), y_test.to(device)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
model = TemporalFusion().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)


def evaluate():
    model.eval()
    with torch.no_grad():
        pred, var_weights, attn = model(x_test)
        loss = pinball(pred, y_test)
        inside = ((y_test >= pred[..., 0]) & (y_test <= pred[..., 2])).float().mean()
    model.train()
    return loss.item(), inside.item(), var_weights, attn


loss, inside, _, attn = evaluate()
print(f'attention weights {tuple(attn.shape)}, rows sum to 1: '
      f'{torch.allclose(attn.sum(-1), torch.ones(()))}, '
      f'above the diagonal: {attn.triu(diagonal=1).abs().max().item()}')
print(f'untrained: test loss {loss:.4f} | 10-90% coverage {inside:.3f}')
for epoch in range(1, 7):
    total = 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        pred, _, _ = model(xb)
        loss = pinball(pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    loss, inside, var_weights, attn = evaluate()
    print(f'epoch {epoch}: train loss {total / len(x_train):.4f} | test loss {loss:.4f} '
          f'| 10-90% coverage {inside:.3f}')

print('mean variable weights (season, trend, noise, lagged):',
      [round(v, 3) for v in var_weights.mean(dim=(0, 1)).tolist()])
print('head 0, last query, its last 4 keys:', attn[0, 0, -1, -4:].tolist())
print('heads of the last query on the first sequence, rounded:')
print(attn[0, :, -1, -3:].round(decimals=3))
