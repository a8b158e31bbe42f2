"""Learned ISTA (Gregor and LeCun, 2010, "Learning Fast Approximations of Sparse Coding")
against plain ISTA, written for the xpnn tests on made-up sparse codes.

A dictionary D (20 x 40, unit-norm columns) and codes z with 4 non-zeros each make the
signals y = D z + noise. ISTA iterates z <- soft(z + D^T (y - D z) / L, lam / L), with the
step 1 / L from the largest singular value of D (``torch.linalg.matrix_norm(D, ord=2)``,
checked against ``torch.linalg.svdvals``) and soft thresholding written as
``torch.sign(x) * F.relu(x.abs() - theta)``, checked against ``F.softshrink``. LISTA unrolls
six such steps into a network whose matrices W_e = D^T / L and S = I - D^T D / L start from
ISTA's and are learned, with one threshold per layer kept in an ``nn.ParameterList``.
Training is by Adam on an MSE to the true codes with ``nn.utils.clip_grad_value_``; the
recovery error, NMSE in dB by ``torch.linalg.vector_norm``, is printed per epoch beside that
of ISTA after as many (and after many more) iterations.

    python tests/pytorch_programs/tutorials/lista_sparse_coding.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(12)
rng = np.random.default_rng(12)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
M, N_ATOMS, K_SPARSE, LAYERS, LAM = 20, 40, 4, 6, 0.05

D_np = rng.standard_normal((M, N_ATOMS))
D = torch.tensor(D_np / np.linalg.norm(D_np, axis=0), dtype=torch.float32, device=device)


def make_codes(count):
    z = np.zeros((count, N_ATOMS))
    for i in range(count):
        support = rng.choice(N_ATOMS, K_SPARSE, replace=False)
        z[i, support] = rng.choice([-1.0, 1.0], K_SPARSE) * rng.uniform(0.5, 1.5, K_SPARSE)
    z = torch.tensor(z, dtype=torch.float32, device=device)
    noise = 0.01 * torch.tensor(rng.standard_normal((count, M)), dtype=torch.float32,
                                device=device)
    return z @ D.T + noise, z


def soft_threshold(x, theta):
    return torch.sign(x) * F.relu(x.abs() - theta)


def nmse_db(z_hat, z):
    err = torch.linalg.vector_norm(z_hat - z, dim=1) ** 2
    return 10 * torch.log10((err / torch.linalg.vector_norm(z, dim=1) ** 2).mean())


def ista(y, iterations):
    z = torch.zeros(y.shape[0], N_ATOMS, device=y.device)
    for _ in range(iterations):
        z = F.softshrink(z + (y - z @ D.T) @ D / L, LAM / L)
    return z


class LISTA(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.W_e = nn.Linear(M, N_ATOMS, bias=False)
        self.S = nn.Linear(N_ATOMS, N_ATOMS, bias=False)
        with torch.no_grad():
            self.W_e.weight.copy_(D.T / L)
            self.S.weight.copy_(torch.eye(N_ATOMS, device=D.device) - D.T @ D / L)
        self.thetas = nn.ParameterList(
            [nn.Parameter(torch.tensor(LAM / L)) for _ in range(layers)])

    def forward(self, y):
        b = self.W_e(y)
        z = soft_threshold(b, self.thetas[0])
        for theta in self.thetas[1:]:
            z = soft_threshold(b + self.S(z), theta)
        return z


L = torch.linalg.matrix_norm(D, ord=2).item() ** 2   # Lipschitz constant of D^T (D z - y)
sigma_max = torch.linalg.svdvals(D)[0].item()
print(f"L = {L:.4f} | matrix_norm(ord=2) agrees with svdvals: {abs(L - sigma_max ** 2) < 1e-4}")
probe = torch.linspace(-1, 1, 11, device=device)
print(f"hand-written soft threshold equals F.softshrink: "
      f"{torch.allclose(soft_threshold(probe, 0.3), F.softshrink(probe, 0.3))}")

train_y, train_z = make_codes(1024)
test_y, test_z = make_codes(256)
with torch.no_grad():
    for its in (LAYERS, 60):
        nmse = nmse_db(ista(test_y, its), test_z).item()
        print(f"ISTA {its:3d} iterations | test NMSE {nmse:.3f} dB")

model = LISTA(LAYERS).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(train_y, train_z), batch_size=64, shuffle=True)
with torch.no_grad():
    print(f"LISTA untrained | test NMSE {nmse_db(model(test_y), test_z).item():.3f} dB")
for epoch in range(1, 9):
    total = 0.0
    for y, z in loader:
        optimizer.zero_grad()
        loss = F.mse_loss(model(y), z)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 0.05)
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test = nmse_db(model(test_y), test_z).item()
    print(f"epoch {epoch} | train MSE {total / len(loader):.6f} | test NMSE {test:.3f} dB")

print("thresholds per layer:", [round(theta.item(), 4) for theta in model.thetas])
