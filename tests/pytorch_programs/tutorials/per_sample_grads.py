"""Per-sample gradients with ``torch.func``, after PyTorch's per-sample-gradients tutorial,
written for the xpnn tests, used for a DP-SGD-style update on 256 made-up points.

``vmap(grad(loss), in_dims=(None, 0, 0))`` over ``functional_call(model, params, ...)``
gives one gradient per sample; it is checked against a loop of ``torch.autograd.grad``,
then each sample's gradient is clipped to norm 1, the clipped gradients are summed, Gaussian
noise is added (``torch.randn_like``) and the parameters are updated by hand. ``jacrev`` and
``hessian`` of a small function are printed beside their formulas.

    python tests/pytorch_programs/tutorials/per_sample_grads.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, jacrev, vmap
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)

# jacrev and hessian of small functions, beside the formulas
v = torch.tensor([0.5, -1.0, 2.0])


def f(x):
    return torch.stack([x[0] * x[1], torch.sin(x[1]), (x ** 2).sum()])


def energy(x):
    return (x ** 3).sum() + x[0] * x[2]


jac = jacrev(f)(v)
print(jac)
hess = hessian(energy)(v)
print(hess)
want = torch.diag(6 * v)
want[0, 2] = want[2, 0] = 1.0
print('hessian as the formula:', torch.allclose(hess, want))

n, d, n_classes = 256, 6, 3
w_true = torch.randn(d, n_classes)
x = torch.randn(n, d)
y = (x @ w_true + 0.5 * torch.randn(n, n_classes)).argmax(dim=1)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)

model = nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, n_classes))
print(model)
with torch.no_grad():
    print('initial loss: {:.4f}'.format(F.cross_entropy(model(x), y).item()))

params = {k: p.detach() for k, p in model.named_parameters()}


def compute_loss(params, sample, target):
    out = functional_call(model, params, (sample.unsqueeze(0),))
    return F.cross_entropy(out, target.unsqueeze(0))


per_sample_grads = vmap(grad(compute_loss), in_dims=(None, 0, 0))

# the vmapped gradients against a loop over the samples
grads = per_sample_grads(params, x[:8], y[:8])
print({k: tuple(g.shape) for k, g in grads.items()})
for i in range(8):
    loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
    loop = torch.autograd.grad(loss, list(model.parameters()))
    same = all(torch.allclose(grads[k][i], g, atol=1e-6) for k, g in zip(params, loop))
    if not same:
        print('sample', i, 'differs from the loop')
print('vmap(grad) agrees with the loop on 8 samples')

clip, noise_multiplier, lr = 1.0, 0.3, 0.5
for epoch in range(1, 6):
    for xb, yb in loader:
        grads = per_sample_grads(params, xb, yb)
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], 1).norm(dim=1)
        factor = (clip / (norms + 1e-6)).clamp(max=1.0)
        new = {}
        for k, p in params.items():
            g = grads[k]
            clipped = (g * factor.view(-1, *([1] * (g.dim() - 1)))).sum(0)
            noise = noise_multiplier * clip * torch.randn_like(p)
            new[k] = p - lr * (clipped + noise) / len(xb)
        params = new
    with torch.no_grad():
        logits = functional_call(model, params, (x,))
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
    print('epoch {}: loss {:.4f}, accuracy {:.3f}, mean clip factor {:.3f}'.format(
        epoch, loss.item(), acc.item(), factor.mean().item()))
