"""A hypernetwork and FiLM conditioning (Ha et al., 2016, "HyperNetworks"; Perez et al.,
2018, "FiLM: Visual Reasoning with a General Conditioning Layer"), written for the xpnn tests
on made-up regression tasks.

Each task is a random function of a 2-D input with a learned task embedding
(``nn.Embedding``). The hypernetwork (an ``nn.ModuleDict`` of heads, one per generated
tensor) maps the embedding to the weights and biases of a small target MLP. The target MLP
runs three ways that must agree:

* per task, by ``F.linear`` with the generated weight and bias;
* batched over tasks, by ``torch.baddbmm`` (bias + x @ W^T) and ``torch.bmm``;
* by ``torch.func.functional_call`` of a template ``nn.Sequential`` with a generated
  parameter dict.

A second branch reads a tiny image per sample through a conv stack whose feature maps are
FiLM-modulated by the task: per-channel gamma and beta, generated from the task embedding,
broadcast over (N, C, H, W) as ``gamma[:, :, None, None] * h + beta[:, :, None, None]``;
the per-layer FiLM scales start from an ``nn.ParameterList``. Both branches are summed and
trained jointly by Adam on the mean squared error.

    python tests/pytorch_programs/tutorials/hypernet_film.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

torch.manual_seed(1)
rng = np.random.default_rng(1)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_tasks, per_task, d_in, hidden, side = 6, 48, 2, 16, 6
task_w = rng.standard_normal((n_tasks, d_in)).astype(np.float32)
task_f = rng.uniform(0.5, 2.0, n_tasks).astype(np.float32)
task_pixel = rng.uniform(-1.0, 1.0, n_tasks).astype(np.float32)


def make_data(count):
    x = rng.uniform(-2, 2, (n_tasks, count, d_in)).astype(np.float32)
    images = rng.standard_normal((n_tasks, count, 1, side, side)).astype(np.float32)
    y = (np.sin(task_f[:, None] * (x @ task_w[:, :, None])[..., 0])
         + task_pixel[:, None] * images[:, :, 0, :3, :3].mean(axis=(-1, -2)))
    return (torch.from_numpy(x), torch.from_numpy(images),
            torch.from_numpy(y.astype(np.float32)))


train_x, train_img, train_y = make_data(per_task)
test_x, test_img, test_y = make_data(32)
print(f'train x {tuple(train_x.shape)} images {tuple(train_img.shape)} y {tuple(train_y.shape)}')

shapes = {'0.weight': (hidden, d_in), '0.bias': (hidden,),
          '2.weight': (1, hidden), '2.bias': (1,)}


class HyperFiLM(nn.Module):
    def __init__(self, embed_dim=8, channels=(4, 8)):
        super().__init__()
        self.task_embedding = nn.Embedding(n_tasks, embed_dim)
        self.trunk = nn.Sequential(nn.Linear(embed_dim, 32), nn.Tanh())
        self.heads = nn.ModuleDict({name.replace('.', '_'): nn.Linear(32, int(np.prod(s)))
                                    for name, s in shapes.items()})
        self.convs = nn.ModuleList()
        self.film = nn.ModuleList()
        c_in = 1
        for c in channels:
            self.convs.append(nn.Conv2d(c_in, c, 3, padding=1))
            self.film.append(nn.Linear(embed_dim, 2 * c))
            c_in = c
        self.film_scale = nn.ParameterList([nn.Parameter(torch.full((c,), 0.1))
                                            for c in channels])
        self.readout = nn.Linear(c_in, 1)

    def generate(self, tasks):
        h = self.trunk(self.task_embedding(tasks))
        return {name: self.heads[name.replace('.', '_')](h).view(len(tasks), *s)
                for name, s in shapes.items()}

    def target_bmm(self, params, x):
        # x: (T, N, d_in); weights: (T, out, in)
        h = torch.baddbmm(params['0.bias'].unsqueeze(1), x, params['0.weight'].transpose(1, 2))
        h = torch.relu(h)
        return torch.bmm(h, params['2.weight'].transpose(1, 2)).squeeze(-1) + params['2.bias']

    def film_branch(self, tasks, images):
        # images: (T, N, 1, H, W); one FiLM (gamma, beta) per task, shared by its samples
        t, n = images.shape[:2]
        e = self.task_embedding(tasks)
        h = images.flatten(0, 1)
        for conv, film, scale in zip(self.convs, self.film, self.film_scale):
            gamma, beta = film(e).chunk(2, dim=-1)
            gamma = 1 + scale * gamma
            h = conv(h).view(t, n, -1, *h.shape[-2:])
            h = gamma[:, None, :, None, None] * h + beta[:, None, :, None, None]
            h = F.relu(h.flatten(0, 1))
        return self.readout(h.mean(dim=(-1, -2))).view(t, n)

    def forward(self, tasks, x, images):
        return self.target_bmm(self.generate(tasks), x) + self.film_branch(tasks, images)


template = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, 1)).to(device)
model = HyperFiLM().to(device)
tasks = torch.arange(n_tasks, device=device)
with torch.no_grad():
    print(f'untrained | test loss {F.mse_loss(model(tasks, test_x, test_img), test_y).item():.4f}')

# the three paths through the generated target MLP agree
with torch.no_grad():
    params = model.generate(tasks)
    batched = model.target_bmm(params, test_x)
    direct = torch.stack([F.linear(F.relu(F.linear(test_x[i], params['0.weight'][i],
                                                     params['0.bias'][i])),
                                     params['2.weight'][i], params['2.bias'][i]).squeeze(-1)
                          for i in range(n_tasks)])
    functional = torch.stack([functional_call(template, {k: v[i] for k, v in params.items()},
                                              (test_x[i],)).squeeze(-1)
                              for i in range(n_tasks)])
print(f'bmm matches F.linear: {torch.allclose(batched, direct, atol=1e-6)} | '
      f'functional_call matches F.linear: {torch.allclose(functional, direct, atol=1e-6)}')
print(f'generated shapes {[tuple(v.shape) for v in params.values()]}')
print(f'module dict keys {list(model.heads.keys())} | film scales '
      f'{[tuple(p.shape) for p in model.film_scale]}')

optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(1, 9):
    model.train()
    for step in range(6):
        order = torch.from_numpy(rng.permutation(per_task)[:16])
        pred = model(tasks, train_x[:, order], train_img[:, order])
        loss = F.mse_loss(pred, train_y[:, order])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        test_loss = F.mse_loss(model(tasks, test_x, test_img), test_y)
        per_task_loss = ((model(tasks, test_x, test_img) - test_y) ** 2).mean(dim=1)
    print(f'epoch {epoch} | train loss {loss.item():.4f} | test loss {test_loss.item():.4f} '
          f'| worst task {per_task_loss.argmax().item()}')

# a gradient through functional_call reaches the hypernetwork
params = model.generate(tasks[:1])
out = functional_call(template, {k: v[0] for k, v in params.items()}, (test_x[0],))
grad = torch.autograd.grad(F.mse_loss(out.squeeze(-1), test_y[0]),
                           model.heads['0_weight'].weight)[0]
print(f'hypernetwork gradient through functional_call {tuple(grad.shape)} norm '
      f'{grad.norm().item():.4f}')
print(f'template weights untouched: {bool((template[0].weight.grad is None))}')
