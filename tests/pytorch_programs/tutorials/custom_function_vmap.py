"""Custom ``torch.autograd.Function`` subclasses in PyTorch 2's style, under ``torch.func``
transforms, written for the xpnn tests after PyTorch's "Extending torch.func with
autograd.Function" tutorial.

* ``Swish``: ``forward`` without ctx plus ``setup_context``, ``ctx.save_for_backward`` and
  ``ctx.save_for_forward``, a ``backward`` and a ``jvp`` staticmethod (forward mode), and
  ``generate_vmap_rule = True``; used under ``torch.func.vmap``, ``grad``, ``jacfwd`` and
  ordinary ``backward()``, checked against the analytic derivative.
* ``SortDesc``: returns the sorted values and the indices; ``ctx.mark_non_differentiable``
  on the indices, ``ctx.set_materialize_grads(False)`` (a backward that sees ``None``), and
  a hand-written ``vmap`` staticmethod (``info.batch_size``, ``in_dims``, out_dims).
* ``ClampedExp``: the old style (ctx in forward) with ``once_differentiable`` on its
  backward.

Each is checked by ``torch.autograd.gradcheck`` in float64; a small regression net with
``Swish`` as its activation is trained by Adam and its per-sample gradients taken by
``vmap(grad(...))`` through ``functional_call`` match the looped ones.

    python tests/pytorch_programs/tutorials/custom_function_vmap.py
"""
import numpy as np
import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable
from torch.func import functional_call, grad, jacfwd, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)


class Swish(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x * torch.sigmoid(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        s = torch.sigmoid(x)
        return grad_out * (s + x * s * (1 - s))

    @staticmethod
    def jvp(ctx, x_t):
        x, = ctx.saved_tensors
        s = torch.sigmoid(x)
        return x_t * (s + x * s * (1 - s))


def swish_derivative(x):
    s = torch.sigmoid(x)
    return s + x * s * (1 - s)


class SortDesc(torch.autograd.Function):
    @staticmethod
    def forward(x):
        values, indices = torch.sort(x, dim=-1, descending=True)
        return values, indices

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, indices = output
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        if grad_values is None:
            return None
        indices, = ctx.saved_tensors
        return torch.zeros_like(grad_values).scatter(-1, indices, grad_values)

    @staticmethod
    def vmap(info, in_dims, x):
        x_bdim, = in_dims
        x = x.movedim(x_bdim, 0) if x_bdim is not None else x.expand(info.batch_size, *x.shape)
        return SortDesc.apply(x), (0, 0)


class ClampedExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, limit):
        y = torch.exp(x.clamp(max=limit))
        ctx.save_for_backward(x, y)
        ctx.limit = limit
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        return grad_out * y * (x <= ctx.limit).to(y.dtype), None


# -- checks -------------------------------------------------------------------------------
x64 = torch.from_numpy(rng.standard_normal((3, 5))).requires_grad_()
print(f'gradcheck swish {torch.autograd.gradcheck(Swish.apply, (x64,))}')
print(f'gradcheck swish forward mode '
      f'{torch.autograd.gradcheck(Swish.apply, (x64,), check_forward_ad=True, check_backward_ad=False)}')
print(f'gradcheck sort {torch.autograd.gradcheck(lambda t: SortDesc.apply(t)[0], (x64,))}')
print(f'gradcheck clamped exp {torch.autograd.gradcheck(lambda t: ClampedExp.apply(t, 0.5), (x64,))}')

x = torch.linspace(-3, 3, 7)
y = Swish.apply(x)
print(f'swish {[round(v, 4) for v in y.tolist()]}')
xg = x.clone().requires_grad_()
Swish.apply(xg).sum().backward()
print(f'backward matches analytic {torch.allclose(xg.grad, swish_derivative(x), atol=1e-6)}')
g_single = grad(lambda t: Swish.apply(t).sum())(x)
print(f'func.grad matches {torch.allclose(g_single, swish_derivative(x), atol=1e-6)}')
jac = jacfwd(Swish.apply)(x)
print(f'jacfwd diagonal matches {torch.allclose(jac.diagonal(), swish_derivative(x), atol=1e-6)} '
      f'| off-diagonal zero {torch.count_nonzero(jac - torch.diag(jac.diagonal())).item()}')
batch = torch.from_numpy(rng.standard_normal((4, 6)).astype(np.float32))
per_row = vmap(grad(lambda r: (Swish.apply(r) ** 2).sum()))(batch)
looped = torch.stack([2 * Swish.apply(r) * swish_derivative(r) for r in batch])
print(f'vmap(grad) matches {torch.allclose(per_row, looped, atol=1e-6)}')

values, indices = SortDesc.apply(batch)
print(f'sort indices requires_grad {indices.requires_grad} | dtype {indices.dtype}')
vv, vi = vmap(SortDesc.apply, in_dims=1)(batch)
print(f'vmap sort over dim 1 shape {tuple(vv.shape)} | matches '
      f'{torch.equal(vv, torch.sort(batch.T, dim=-1, descending=True).values)} '
      f'| indices equal {torch.equal(vi, torch.sort(batch.T, dim=-1, descending=True).indices)}')
bg = batch.clone().requires_grad_()
top2 = SortDesc.apply(bg)[0][:, :2].sum()
top2.backward()
print(f'top-2 gradient per row {bg.grad.sum(1).tolist()} | '
      f'one on the argmax {bg.grad.gather(1, batch.argmax(1, keepdim=True)).flatten().tolist()}')
# only the indices used: the values' gradient is None inside backward, no error
bi = batch.clone().requires_grad_()
v, i = SortDesc.apply(bi)
(v[:, 0] * 0 + bi.gather(1, i[:, :1]).squeeze(1)).sum().backward()
print(f'gather through the indices {bi.grad.sum().item():.1f}')

xc = torch.tensor([0.0, 0.4, 0.6, 1.0], requires_grad=True)
ClampedExp.apply(xc, 0.5).sum().backward()
print(f'clamped exp grad {[round(v, 4) for v in xc.grad.tolist()]}')
try:
    xc2 = torch.tensor([0.3], requires_grad=True)
    out = ClampedExp.apply(xc2, 0.5)
    (g2,) = torch.autograd.grad(out.sum(), xc2, create_graph=True)
    g2.sum().backward()
    print('double backward through once_differentiable: no error')
except RuntimeError as e:
    print(f'double backward refused: {"once_differentiable" in str(e) or "does not require grad" in str(e)}')


# -- a model with Swish as its activation ------------------------------------------------
class SwishMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.fc2 = nn.Linear(32, 32)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        return self.out(Swish.apply(self.fc2(Swish.apply(self.fc1(x))))).squeeze(-1)


inputs = torch.from_numpy(rng.uniform(-2, 2, (256, 2)).astype(np.float32))
targets = torch.sin(inputs[:, 0]) * torch.cos(inputs[:, 1])
model = SwishMLP()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(6):
    total = 0.0
    for i in range(0, 256, 32):
        loss = ((model(inputs[i:i + 32]) - targets[i:i + 32]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    print(f'swish mlp epoch {epoch} | loss {total / 8:.5f}')

params = {k: v.detach() for k, v in model.named_parameters()}


def sample_loss(params, xi, yi):
    return (functional_call(model, params, (xi[None],)) - yi) ** 2


per_sample = vmap(grad(lambda p, xi, yi: sample_loss(p, xi, yi).sum()),
                  in_dims=(None, 0, 0))(params, inputs[:8], targets[:8])
for name in ('fc1.weight', 'out.bias'):
    loop = []
    for j in range(8):
        model.zero_grad()
        ((model(inputs[j:j + 1]) - targets[j]) ** 2).sum().backward()
        loop.append(dict(model.named_parameters())[name].grad.clone())
    print(f'per-sample {name} {tuple(per_sample[name].shape)} matches loop '
          f'{torch.allclose(per_sample[name], torch.stack(loop), atol=1e-6)} | '
          f'norm {per_sample[name].norm().item():.5f}')
