"""Parametrizations, after PyTorch's "Parametrizations Tutorial", written for the xpnn tests
on a made-up copying task and a made-up covariance.

(a) An RNN on the copying task (remember three symbols over a delay of blanks, then write
them back after a marker), whose hidden-to-hidden weight is kept orthogonal by
``torch.nn.utils.parametrizations.orthogonal`` (registered on the built model, after an
untrained evaluation) (initialised by assigning an orthogonal
matrix to the parametrized attribute, which goes through ``right_inverse``), with a
symmetric mixing layer (a custom ``nn.Module`` registered by
``parametrize.register_parametrization``) and a ``parametrizations.weight_norm`` readout.
Trained by Adam; the orthogonality error of the weight is printed as it trains.
Evaluation under ``parametrize.cached()``; the ``state_dict`` (``original``, ``base``,
``original0``/``original1``) is loaded into a fresh parametrized model; finally
``parametrize.remove_parametrizations(..., leave_parametrized=True)`` turns the weights
back into plain parameters with the same outputs.

(b) A precision matrix kept symmetric positive definite by two chained parametrizations on
one tensor (symmetric, then ``torch.matrix_exp``), fitted by Adam to made-up Gaussian data
under the Gaussian negative log-likelihood (``torch.linalg.slogdet``).

    python tests/pytorch_programs/tutorials/parametrize_orthogonal.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
from torch.nn.utils import parametrizations

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_symbols, k, delay, hidden = 4, 3, 8, 32
blank, marker = 0, n_symbols + 1
length = k + delay + k


def copy_batch(batch):
    symbols = rng.integers(1, n_symbols + 1, size=(batch, k))
    x = np.zeros((batch, length), dtype=np.int64)
    y = np.zeros((batch, length), dtype=np.int64)
    x[:, :k] = symbols
    x[:, k + delay - 1] = marker
    y[:, -k:] = symbols
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class MatrixExp(nn.Module):
    def forward(self, X):
        return torch.matrix_exp(X)


class CopyRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(n_symbols + 2, 16)
        self.rnn = nn.RNN(16, hidden, batch_first=True)
        self.mix = nn.Linear(hidden, hidden, bias=False)
        self.head = nn.Linear(hidden, n_symbols + 1)

    def forward(self, x):
        h, _ = self.rnn(self.embed(x))
        return self.head(torch.tanh(self.mix(h)))


def parametrize_model(model):
    parametrizations.orthogonal(model.rnn, 'weight_hh_l0')
    q, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    model.rnn.weight_hh_l0 = torch.tensor(q, dtype=torch.float32)
    parametrize.register_parametrization(model.mix, 'weight', Symmetric())
    model.head = parametrizations.weight_norm(model.head)
    return model


def orthogonality_error(w):
    return (w @ w.T - torch.eye(w.shape[0], device=w.device)).abs().max()


criterion = nn.CrossEntropyLoss()
test_x, test_y = copy_batch(128)
model = CopyRNN().to(device)
with torch.no_grad():
    untrained = criterion(model(test_x).reshape(-1, n_symbols + 1), test_y.reshape(-1))
print(f'untrained, before the parametrizations | test loss {untrained.item():.4f}')
parametrize_model(model)
print(f'parametrized: rnn {parametrize.is_parametrized(model.rnn)}, weight_hh_l0 '
      f'{parametrize.is_parametrized(model.rnn, "weight_hh_l0")}, bias_hh_l0 '
      f'{parametrize.is_parametrized(model.rnn, "bias_hh_l0")}')
print(f'orthogonal after assignment: '
      f'{(orthogonality_error(model.rnn.weight_hh_l0) < 1e-5).item()}')
print(f'mix symmetric: {torch.equal(model.mix.weight, model.mix.weight.T)}')
print(f'parameters {sorted(name for name, _ in model.named_parameters())}')
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)

for step in range(1, 121):
    x, y = copy_batch(32)
    logits = model(x)
    loss = criterion(logits.reshape(-1, n_symbols + 1), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        model.eval()
        with torch.no_grad(), parametrize.cached():
            test_logits = model(test_x)
            test_loss = criterion(test_logits.reshape(-1, n_symbols + 1), test_y.reshape(-1))
            recalled = (test_logits[:, -k:].argmax(-1) == test_y[:, -k:]).float().mean()
            error = orthogonality_error(model.rnn.weight_hh_l0)
        model.train()
        print(f'step {step} | train loss {loss.item():.4f} | test loss {test_loss.item():.4f} '
              f'| recalled {recalled.item():.3f} | orthogonal {(error < 1e-4).item()}')

model.eval()
state = model.state_dict()
print(f'state_dict keys {sorted(state.keys())}')
fresh = parametrize_model(CopyRNN()).to(device)
fresh.load_state_dict(state)
fresh.eval()
with torch.no_grad():
    out = model(test_x)
    print(f'fresh model from the state_dict matches: {torch.allclose(fresh(test_x), out, atol=1e-5)}')
    g = model.head.parametrizations.weight.original0
    v = model.head.parametrizations.weight.original1
    print(f'weight_norm g {tuple(g.shape)} v {tuple(v.shape)} | weight = g v / |v|: '
          f'{torch.allclose(model.head.weight, g * v / v.norm(dim=1, keepdim=True), atol=1e-6)}')

parametrize.remove_parametrizations(model.rnn, 'weight_hh_l0', leave_parametrized=True)
parametrize.remove_parametrizations(model.mix, 'weight', leave_parametrized=True)
parametrize.remove_parametrizations(model.head, 'weight', leave_parametrized=True)
with torch.no_grad():
    print(f'after removal: parametrized {parametrize.is_parametrized(model)}, same outputs '
          f'{torch.allclose(model(test_x), out, atol=1e-5)}, weight_hh_l0 a '
          f'{type(model.rnn.weight_hh_l0).__name__}')


# -- (b) a symmetric positive-definite precision matrix by chained parametrizations -------
class Precision(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d, d))
        parametrize.register_parametrization(self, 'weight', Symmetric())
        parametrize.register_parametrization(self, 'weight', MatrixExp())

    def nll(self, x):
        sign, logdet = torch.linalg.slogdet(self.weight)
        quad = torch.einsum('ni,ij,nj->n', x, self.weight, x)
        return 0.5 * (quad.mean() - logdet)


d = 4
a = rng.standard_normal((d, d))
cov = a @ a.T / d + 0.5 * np.eye(d)
data = torch.tensor(rng.multivariate_normal(np.zeros(d), cov, size=400), dtype=torch.float32)
precision = Precision(d)
print(f'chained parametrizations {len(precision.parametrizations.weight)}, start at identity: '
      f'{torch.allclose(precision.weight, torch.eye(d))}')
optimizer = torch.optim.Adam(precision.parameters(), lr=0.05)
for step in range(1, 101):
    loss = precision.nll(data)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        print(f'precision step {step} | nll {loss.item():.4f}')
with torch.no_grad():
    p = precision.weight
    eigenvalues = torch.linalg.eigvalsh(p)
    target = torch.linalg.inv(torch.cov(data.T))
print(f'precision symmetric {torch.allclose(p, p.T, atol=1e-6)}, positive definite '
      f'{bool((eigenvalues > 0).all())}, within 0.01 of the sample precision '
      f'{((p - target).abs().max() < 0.01).item()}')
