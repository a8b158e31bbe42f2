"""CP and Tucker decompositions of a 3-way tensor by alternating least squares, written for
the xpnn tests after Kolda and Bader, 2009 ("Tensor Decompositions and Applications"), on a
made-up low-rank tensor with noise.

CP-ALS updates one factor at a time against the Khatri-Rao product of the other two (built
by ``torch.einsum("jr,kr->jkr", ...)`` and a reshape): the first factor by
``torch.linalg.lstsq`` on the unfolded tensor, the other two by the normal equations with
``torch.linalg.pinv`` of the Hadamard product of the Gram matrices; the MTTKRP is checked
against a single ``einsum``, the columns are normalised (``torch.linalg.norm(dim=0)``), and
the relative error is printed per sweep. Tucker starts from the truncated HOSVD
(``torch.linalg.svd(full_matrices=False)`` of each unfolding, ``movedim``) and refines by
HOOI sweeps; its reconstruction through ``torch.kron`` of two factors is checked against the
``einsum`` form. Then the CP factors are fitted again by Adam on the reconstruction loss
from the same start (an ``nn.Module`` of an ``nn.ParameterList``), as a gradient
baseline.

    python tests/pytorch_programs/tutorials/tensor_decomposition_als.py
"""
import torch
import torch.nn as nn

torch.manual_seed(0)

I, J, K, RANK = 12, 10, 8, 3
A0, B0, C0 = torch.randn(I, RANK), torch.randn(J, RANK), torch.randn(K, RANK)
X = torch.einsum("ir,jr,kr->ijk", A0, B0, C0) + 0.05 * torch.randn(I, J, K)
norm_x = torch.linalg.norm(X)
print(f'tensor {tuple(X.shape)}, norm {norm_x.item():.4f}')


def unfold(t, mode):
    """Mode-n unfolding: mode first, the others in order, row-major."""
    return t.movedim(mode, 0).reshape(t.shape[mode], -1)


def khatri_rao(u, v):
    return torch.einsum("jr,kr->jkr", u, v).reshape(-1, u.shape[1])


def cp_reconstruct(a, b, c, weights=None):
    if weights is not None:
        a = a * weights
    return torch.einsum("ir,jr,kr->ijk", a, b, c)


def rel_error(approx):
    return (torch.linalg.norm(X - approx) / norm_x).item()


# -- CP by alternating least squares ------------------------------------------------------
A, B, C = torch.randn(I, RANK), torch.randn(J, RANK), torch.randn(K, RANK)
start = (A.clone(), B.clone(), C.clone())
mttkrp = unfold(X, 0) @ khatri_rao(B, C)
print(f'mttkrp by unfolding vs einsum: allclose '
      f'{torch.allclose(mttkrp, torch.einsum("ijk,jr,kr->ir", X, B, C), atol=1e-4)}')
print(f'untrained | cp relative error {rel_error(cp_reconstruct(A, B, C)):.5f}')
weights = torch.ones(RANK)
for sweep in range(1, 16):
    A = torch.linalg.lstsq(khatri_rao(B, C), unfold(X, 0).T).solution.T
    gram = (A.T @ A) * (C.T @ C)
    B = unfold(X, 1) @ khatri_rao(A, C) @ torch.linalg.pinv(gram)
    gram = (A.T @ A) * (B.T @ B)
    C = unfold(X, 2) @ khatri_rao(A, B) @ torch.linalg.pinv(gram)
    err = rel_error(cp_reconstruct(A, B, C))
    print(f'cp sweep {sweep} | relative error {err:.5f}')

norms = [torch.linalg.norm(f, dim=0) for f in (A, B, C)]
weights = norms[0] * norms[1] * norms[2]
A, B, C = A / norms[0], B / norms[1], C / norms[2]
order = torch.argsort(weights, descending=True)
print(f'cp weights {[round(w, 2) for w in weights[order].tolist()]}, normalised error '
      f'{rel_error(cp_reconstruct(A, B, C, weights)):.5f}')
# the recovered rank-one terms against the true ones, by absolute cosine
cos = (torch.nn.functional.normalize(A0, dim=0).T @ A).abs()
print(f'factor match (max |cos| per true column) {cos.amax(1).min().item():.4f}')

# -- Tucker by HOSVD and HOOI -------------------------------------------------------------
ranks = (3, 3, 3)
U = [torch.linalg.svd(unfold(X, n), full_matrices=False)[0][:, :r]
     for n, r in enumerate(ranks)]


def tucker_core(us):
    return torch.einsum("ijk,ia,jb,kc->abc", X, us[0], us[1], us[2])


def tucker_reconstruct(core, us):
    return torch.einsum("abc,ia,jb,kc->ijk", core, us[0], us[1], us[2])


print(f'hosvd | tucker relative error {rel_error(tucker_reconstruct(tucker_core(U), U)):.5f}')
for sweep in range(1, 4):
    for n in range(3):
        others = [U[m] for m in range(3) if m != n]
        y = unfold(X, n) @ torch.kron(others[0], others[1])
        U[n] = torch.linalg.svd(y, full_matrices=False)[0][:, :ranks[n]]
    core = tucker_core(U)
    print(f'hooi sweep {sweep} | tucker relative error '
          f'{rel_error(tucker_reconstruct(core, U)):.5f} | core norm '
          f'{torch.linalg.norm(core).item():.4f}')

by_kron = (U[0] @ unfold(core, 0) @ torch.kron(U[1], U[2]).T).reshape(I, J, K)
print(f'kron reconstruction vs einsum: allclose '
      f'{torch.allclose(by_kron, tucker_reconstruct(core, U), atol=1e-4)}, factors '
      f'orthonormal {all(torch.allclose(u.T @ u, torch.eye(u.shape[1]), atol=1e-5) for u in U)}')

# -- the same CP start fitted by gradient descent ------------------------------------------
class CPModel(nn.Module):
    def __init__(self, factors):
        super().__init__()
        self.factors = nn.ParameterList(nn.Parameter(f.clone()) for f in factors)

    def forward(self):
        return cp_reconstruct(*self.factors)


model = CPModel(start)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(1, 201):
    loss = (X - model()).pow(2).sum() / norm_x ** 2
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 40 == 0:
        print(f'adam step {step} | loss {loss.item():.6f} | relative error '
              f'{rel_error(model().detach()):.5f}')
