"""A tour of autograd and module hooks, after PyTorch's "Autograd mechanics" notes and the
"Hooks for saved tensors" tutorial, on a small MLP classifier over made-up data.

* ``torch.autograd.graph.saved_tensors_hooks``: pack each saved tensor to a copy, unpack it
  back, counting the calls; the gradients match the plain backward's;
* ``Module.register_full_backward_hook`` recording each layer's grad_output norm;
  ``register_forward_pre_hook(with_kwargs=True)`` rescaling an input;
  ``register_forward_hook`` recording activation statistics;
* ``Tensor.register_hook`` scaling a gradient, ``retain_grad`` on an intermediate;
* ``torch.autograd.grad(allow_unused=True, materialize_grads=True)``;
* an in-place change of a tensor saved for backward, caught as PyTorch's RuntimeError
  ("modified by an inplace operation");
* ``parameters_to_vector`` / ``vector_to_parameters``, ``Module.apply`` for init, and every
  hook handle removed before an ordinary training loop of the model.

    python tests/pytorch_programs/tutorials/autograd_hooks_tour.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(11)
DIM, N_CLASSES = 10, 4

centres = rng.standard_normal((N_CLASSES, DIM)).astype(np.float32) * 0.8
train_y = rng.integers(0, N_CLASSES, 512)
train_x = centres[train_y] + rng.standard_normal((512, DIM)).astype(np.float32)
test_y = rng.integers(0, N_CLASSES, 256)
test_x = centres[test_y] + rng.standard_normal((256, DIM)).astype(np.float32)
train_x, train_y = torch.tensor(train_x), torch.tensor(train_y)
test_x, test_y = torch.tensor(test_x), torch.tensor(test_y)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(DIM, 32)
        self.fc2 = nn.Linear(32, 32)
        self.out = nn.Linear(32, N_CLASSES)

    def forward(self, x, scale=1.0):
        h1 = torch.relu(self.fc1(x * scale))
        h2 = torch.tanh(self.fc2(h1))
        return self.out(h2)


def init_weights(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight, gain=nn.init.calculate_gain("relu"))
        nn.init.constant_(module.bias, 0.01)


model = MLP()
model.apply(init_weights)

grad_norms, act_stats, handles = {}, {}, []


def backward_hook(name):
    def hook(module, grad_input, grad_output):
        grad_norms.setdefault(name, []).append(grad_output[0].norm().item())
    return hook


def forward_hook(name):
    def hook(module, inputs, output):
        act_stats[name] = (output.mean().item(), output.std().item())
    return hook


def pre_hook(module, args, kwargs):
    # standardise the inputs' scale: the model is called with scale=2.0, halve it back
    kwargs = dict(kwargs)
    kwargs["scale"] = kwargs.get("scale", 1.0) * 0.5
    return args, kwargs


for name in ["fc1", "fc2", "out"]:
    layer = getattr(model, name)
    handles.append(layer.register_forward_hook(forward_hook(name)))
    if name != "fc1":  # fc1's input needs no gradient: PyTorch would warn
        handles.append(layer.register_full_backward_hook(backward_hook(name)))
handles.append(model.register_forward_pre_hook(pre_hook, with_kwargs=True))

xb, yb = train_x[:64], train_y[:64]
logits = model(xb, scale=2.0)
loss = F.cross_entropy(logits, yb)
loss.backward()
plain_grads = [p.grad.clone() for p in model.parameters()]
print(f"hooked forward | loss {loss.item():.5f} | fc1 mean/std "
      f"{act_stats['fc1'][0]:.4f}/{act_stats['fc1'][1]:.4f}")
print("grad_output norms | " + " | ".join(f"{k} {v[0]:.5f}" for k, v in grad_norms.items()))

# saved tensors packed to copies and unpacked back
calls = {"pack": 0, "unpack": 0}


def pack(tensor):
    calls["pack"] += 1
    return tensor.clone()


def unpack(tensor):
    calls["unpack"] += 1
    return tensor


model.zero_grad()
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    loss2 = F.cross_entropy(model(xb, scale=2.0), yb)
loss2.backward()
same = all(torch.allclose(a, p.grad) for a, p in zip(plain_grads, model.parameters()))
print(f"saved tensor hooks | packs {calls['pack'] > 0} | unpacks {calls['unpack'] > 0} | "
      f"same gradients {same} | loss {loss2.item():.5f}")

# Tensor.register_hook and retain_grad on intermediates
x = xb.clone().requires_grad_(True)
h1 = torch.relu(model.fc1(x))
h1.retain_grad()
h2 = torch.tanh(model.fc2(h1))
scaled = h2.register_hook(lambda g: g * 3.0)
out = model.out(h2)
F.cross_entropy(out, yb).backward()
print(f"retained h1 grad norm {h1.grad.norm().item():.6f} | input grad norm "
      f"{x.grad.norm().item():.6f}")
scaled.remove()

# autograd.grad with an unused input
unused = torch.zeros(3, requires_grad=True)
gx, gu = torch.autograd.grad(model(xb).sum(), [model.fc1.weight, unused], allow_unused=True,
                             materialize_grads=True)
print(f"grad of fc1.weight norm {gx.norm().item():.5f} | unused input grad {gu.tolist()}")

# an in-place change of a tensor saved for backward
a = torch.randn(5, requires_grad=True)
b = a.exp()
c = b * 2
b.add_(1.0)
try:
    c.sum().backward()
    print("in-place change went unnoticed")
except RuntimeError as err:
    print(f"caught: {'modified by an inplace operation' in str(err)}")

# parameters flattened to one vector and written back
vec = parameters_to_vector(model.parameters())
print(f"parameter vector {vec.numel()} | norm {vec.norm().item():.5f}")
vector_to_parameters(vec * 0.9, model.parameters())
print(f"rescaled norm {parameters_to_vector(model.parameters()).norm().item():.5f}")

for handle in handles:
    handle.remove()
grad_norms.clear()
act_stats.clear()

optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
for epoch in range(1, 7):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_out = model(test_x)
        test_loss = F.cross_entropy(test_out, test_y).item()
        accuracy = (test_out.argmax(1) == test_y).float().mean().item()
    print(f"epoch {epoch} | train loss {total / len(loader):.4f} | test loss "
          f"{test_loss:.4f} | accuracy {accuracy:.3f} | hooks fired {len(grad_norms)}")
