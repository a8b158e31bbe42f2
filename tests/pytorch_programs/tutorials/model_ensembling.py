"""pytorch/tutorials intermediate_source/ensembling.py (model ensembling with torch.func),
written small for the xpnn tests on made-up Gaussian blobs instead of MNIST, and carried on
into training the ensemble functionally.

Several copies of a small MLP (each with its own initial weights and a ``register_buffer``'d
input scale) are stacked by ``torch.func.stack_module_state(models)`` into dicts of
parameters and buffers with a leading model dimension. A skeleton made by
``copy.deepcopy(models[0]).to('meta')`` is run by ``torch.func.functional_call(base,
(params, buffers), (x,))`` inside ``torch.func.vmap``: ``in_dims=(0, 0, None)`` gives every
model the same minibatch, ``in_dims=(0, 0, 0)`` each model its own, both checked against a
loop over the models with ``torch.testing.assert_close``. Then the whole ensemble trains at
once: ``vmap(torch.func.grad(loss_fn), in_dims=(0, 0, None, None))`` gives each model's
gradient of its cross-entropy on the same batch, applied by an SGD step over the dict of
stacked tensors under ``torch.no_grad``. Each model's test accuracy and the ensemble's (the
mean of the models' softmaxes) are printed.

    python tests/pytorch_programs/tutorials/model_ensembling.py
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

torch.manual_seed(0)
device = 'cpu'

num_models, n_features, n_classes = 5, 16, 4

# Four Gaussian blobs in 16 dimensions, overlapping enough that single models disagree
centres = torch.randn(n_classes, n_features) * 0.9


def make_data(count):
    y = torch.randint(0, n_classes, (count,))
    x = centres[y] + torch.randn(count, n_features)
    return x.to(device), y.to(device)


train_x, train_y = make_data(512)
test_x, test_y = make_data(256)


class SimpleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(n_features, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, n_classes)
        self.register_buffer('scale', torch.full((n_features,), 0.5))

    def forward(self, x):
        x = x * self.scale
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


models = [SimpleMLP().to(device) for _ in range(num_models)]

# every model on a minibatch of its own, and all models on the same minibatch
minibatches = train_x[:num_models * 64].reshape(num_models, 64, n_features)
minibatch = minibatches[0]
predictions_diff_minibatch_loop = [model(mb) for model, mb in zip(models, minibatches)]
predictions2 = [model(minibatch) for model in models]

params, buffers = stack_module_state(models)
print(f'stacked parameters: {[(k, tuple(v.shape)) for k, v in params.items()]}')
print(f'stacked buffers: {[(k, tuple(v.shape)) for k, v in buffers.items()]}')
print(f'stacked buffer of the first model: {buffers["scale"][0, :4]}')
print(f'stacked leaves require grad: {all(v.requires_grad for v in params.values())}, '
      f'are leaves: {all(v.is_leaf for v in params.values())}')

base_model = copy.deepcopy(models[0])
base_model = base_model.to('meta')
print(f'skeleton device: {base_model.fc1.weight.device}')


def fmodel(params, buffers, x):
    return functional_call(base_model, (params, buffers), (x,))


predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)
torch.testing.assert_close(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop))
predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
torch.testing.assert_close(predictions2_vmap, torch.stack(predictions2))
print(f'vmap over models: {tuple(predictions1_vmap.shape)} (a minibatch each) and '
      f'{tuple(predictions2_vmap.shape)} (one minibatch) match the loops')


def evaluate(params, buffers):
    with torch.no_grad():
        logits = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, test_x)
        probs = F.softmax(logits, dim=-1)
        per_model = (logits.argmax(-1) == test_y).float().mean(1)
        ensemble = probs.mean(0)
        ensemble_acc = (ensemble.argmax(-1) == test_y).float().mean()
        ensemble_nll = F.nll_loss(torch.log(ensemble), test_y)
    return per_model, ensemble_acc.item(), ensemble_nll.item()


def loss_fn(params, buffers, x, y):
    return F.cross_entropy(fmodel(params, buffers, x), y)


per_model, acc, nll = evaluate(params, buffers)
print(f'untrained | ensemble nll {nll:.4f} | ensemble accuracy {acc:.3f}')

lr, batch_size = 0.2, 64
ensemble_grad = vmap(grad(loss_fn), in_dims=(0, 0, None, None))
perm = torch.arange(train_x.shape[0])
for epoch in range(1, 7):
    for start in range(0, train_x.shape[0], batch_size):
        idx = perm[start:start + batch_size]
        grads = ensemble_grad(params, buffers, train_x[idx], train_y[idx])
        with torch.no_grad():
            for name in params:
                params[name] -= lr * grads[name]
    losses = vmap(loss_fn, in_dims=(0, 0, None, None))(params, buffers, train_x, train_y)
    per_model, acc, nll = evaluate(params, buffers)
    print(f'epoch {epoch} | train losses {[round(v, 4) for v in losses.tolist()]} | '
          f'ensemble nll {nll:.4f} | ensemble accuracy {acc:.3f}')
    perm = perm.roll(37)

print(f'per-model test accuracy {[round(v, 3) for v in per_model.tolist()]}, '
      f'ensemble {acc:.3f}')
print(f'gradients shaped as the stack: '
      f'{all(grads[k].shape == params[k].shape for k in params)}')

# the trained weights back into ordinary modules
for i, model in enumerate(models):
    model.load_state_dict({**{k: v[i] for k, v in params.items()},
                           **{k: v[i] for k, v in buffers.items()}})
with torch.no_grad():
    check = torch.stack([m(test_x) for m in models])
torch.testing.assert_close(check, vmap(fmodel, in_dims=(0, 0, None))(params, buffers, test_x))
print(f'modules loaded from the stack agree; model 0 test accuracy '
      f'{(check[0].argmax(-1) == test_y).float().mean().item():.3f}')
