"""Quantization-aware training of an MLP (Jacob et al., 2018, "Quantization and Training of
Neural Networks for Efficient Integer-Arithmetic-Only Inference"), written for the xpnn tests
after PyTorch's eager-mode QAT recipe with the fake-quantization ops called by hand, on
made-up data.

Each ``nn.Linear`` subclass fake-quantizes its input per tensor to uint8
(``torch.fake_quantize_per_tensor_affine`` with a float scale tensor and an int32 zero point
tensor) and its weight per output channel to symmetric int8
(``torch.fake_quantize_per_channel_affine`` on axis 0). The ranges come from observers kept as
buffers: running minimum and maximum of the activations from ``torch.aminmax``, moved by a
momentum while training and frozen in eval; the weight's per-channel range by
``aminmax(dim=1)``. A hand-written straight-through fake quantizer, ``(x.round() - x).detach()
+ x`` inside a clamp, is compared with the ops, values and gradients. ``torch.histc`` counts the
first layer's weights; after training the weights are stored as int8 (``torch.clamp(...).to(
torch.int8)``) with their scales in a ``state_dict``, dequantized back into a float model,
and checked against the fake-quantized weights.

    python tests/pytorch_programs/tutorials/fake_quant_qat.py
"""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def make_data(count, dim=8, classes=4):
    """Classes by the signs of two random projections of the input."""
    x = rng.normal(size=(count, dim)).astype(np.float32)
    proj = np.random.default_rng(99).normal(size=(dim, 2))
    h = x @ proj
    y = (h[:, 0] > 0).astype(np.int64) * 2 + (h[:, 1] > 0.3 * h[:, 0] ** 2 - 0.5)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def act_qparams(lo, hi, qmin=0, qmax=255):
    """Asymmetric uint8 parameters of a range that holds zero."""
    lo, hi = torch.clamp(lo, max=0.0), torch.clamp(hi, min=0.0)
    scale = torch.clamp((hi - lo) / float(qmax - qmin), min=1e-8)
    zero_point = torch.clamp(qmin - torch.round(lo / scale), qmin, qmax).to(torch.int32)
    return scale, zero_point


def weight_qparams(w):
    """Symmetric int8 parameters per output channel (row)."""
    lo, hi = torch.aminmax(w.detach(), dim=1)
    scale = torch.clamp(torch.maximum(-lo, hi) / 127.0, min=1e-8)
    return scale, torch.zeros_like(scale, dtype=torch.int32)


def ste_fake_quant(x, scale, zero_point, qmin, qmax):
    """The straight-through estimator by hand: round forward, identity backward."""
    q = x / scale
    q = (q.round() - q).detach() + q
    return (torch.clamp(q + zero_point, qmin, qmax) - zero_point) * scale


class QATLinear(nn.Linear):
    def __init__(self, fan_in, fan_out, momentum=0.1):
        super().__init__(fan_in, fan_out)
        self.momentum = momentum
        self.register_buffer('act_min', torch.tensor(0.0))
        self.register_buffer('act_max', torch.tensor(0.0))
        self.register_buffer('seen', torch.tensor(0, dtype=torch.long))

    def observe(self, x):
        lo, hi = torch.aminmax(x.detach())
        if self.seen.item() == 0:
            self.act_min.copy_(lo)
            self.act_max.copy_(hi)
        else:
            self.act_min.lerp_(lo, self.momentum)
            self.act_max.lerp_(hi, self.momentum)
        self.seen += 1

    def forward(self, x):
        if self.training:
            self.observe(x)
        scale, zp = act_qparams(self.act_min, self.act_max)
        x = torch.fake_quantize_per_tensor_affine(x, scale, zp, 0, 255)
        w_scale, w_zp = weight_qparams(self.weight)
        w = torch.fake_quantize_per_channel_affine(self.weight, w_scale, w_zp, 0, -128, 127)
        return F.linear(x, w, self.bias)


class MLP(nn.Module):
    def __init__(self, dim=8, hidden=32, classes=4):
        super().__init__()
        self.fc1 = QATLinear(dim, hidden)
        self.fc2 = QATLinear(hidden, hidden)
        self.fc3 = QATLinear(hidden, classes)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


train_x, train_y = make_data(512)
test_x, test_y = make_data(256)
model = MLP().to(device)
criterion = nn.CrossEntropyLoss()


def evaluate(net):
    net.eval()
    with torch.no_grad():
        logits = net(test_x.to(device))
        loss = criterion(logits, test_y.to(device)).item()
        accuracy = (logits.argmax(1) == test_y.to(device)).float().mean().item()
    net.train()
    return loss, accuracy


# calibrate the observers on one batch, then evaluate untrained
model(train_x[:64].to(device))
loss, accuracy = evaluate(model)
print(f'untrained | test loss {loss:.4f} | accuracy {accuracy:.3f} | fc1 act range '
      f'[{model.fc1.act_min.item():.3f}, {model.fc1.act_max.item():.3f}]')

# the hand-written estimator against the ops: values and gradients
x = (torch.randn(64, 8) * 2).requires_grad_()
scale, zp = act_qparams(torch.tensor(-3.0), torch.tensor(2.5))
ours = ste_fake_quant(x, scale, zp, 0, 255)
theirs = torch.fake_quantize_per_tensor_affine(x, scale, zp, 0, 255)
g_ours, = torch.autograd.grad(ours.pow(2).sum(), x)
g_theirs, = torch.autograd.grad(theirs.pow(2).sum(), x)
print(f'per-tensor: scale {scale.item():.5f} zero point {zp.item()} | same values '
      f'{torch.allclose(ours, theirs, atol=1e-5)} | same gradients '
      f'{torch.allclose(g_ours, g_theirs, atol=1e-4)} | clipped {(g_theirs == 0).sum().item()}')
w = model.fc2.weight.detach().clone().requires_grad_()
w_scale, w_zp = weight_qparams(w)
ours = ste_fake_quant(w, w_scale[:, None], w_zp[:, None], -128, 127)
theirs = torch.fake_quantize_per_channel_affine(w, w_scale, w_zp, 0, -128, 127)
g_ours, = torch.autograd.grad((ours * torch.linspace(-1, 1, 32)).sum(), w)
g_theirs, = torch.autograd.grad((theirs * torch.linspace(-1, 1, 32)).sum(), w)
print(f'per-channel: {tuple(w_scale.shape)} scales, zero points {w_zp.dtype} | same values '
      f'{torch.allclose(ours, theirs, atol=1e-6)} | same gradients '
      f'{torch.allclose(g_ours, g_theirs)} | levels used in row 0 '
      f'{torch.unique(torch.round(theirs[0] / w_scale[0])).numel()}')

counts = torch.histc(model.fc1.weight.detach(), bins=8, min=-0.4, max=0.4)
print(f'fc1 weight histogram {counts.long().tolist()}')

optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
batch = 32
for epoch in range(1, 9):
    order = torch.from_numpy(rng.permutation(len(train_x)))
    total = 0.0
    for i in range(0, len(train_x), batch):
        xb = train_x[order[i:i + batch]].to(device)
        yb = train_y[order[i:i + batch]].to(device)
        loss = criterion(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, accuracy = evaluate(model)
    print(f'epoch {epoch} | train loss {total / (len(train_x) // batch):.4f} | test loss '
          f'{loss:.4f} | accuracy {accuracy:.3f} | fc2 act max {model.fc2.act_max.item():.3f}')

counts = torch.histc(model.fc1.weight.detach(), bins=8, min=-0.4, max=0.4)
print(f'fc1 weight histogram after training {counts.long().tolist()}')

# int8 export: the weights as int8 with their scales, dequantized into a float model
export = {}
for name, module in model.named_modules():
    if isinstance(module, QATLinear):
        w_scale, _ = weight_qparams(module.weight)
        q = torch.clamp(torch.round(module.weight.detach() / w_scale[:, None]), -128, 127)
        export[f'{name}.weight_int8'] = q.to(torch.int8)
        export[f'{name}.weight_scale'] = w_scale
        export[f'{name}.bias'] = module.bias.detach().clone()
print(f'exported {sorted(export)[:3]} ... dtype {export["fc1.weight_int8"].dtype}, '
      f'bytes {sum(t.numel() * t.element_size() for t in export.values())}')

float_model = copy.deepcopy(model)
state = float_model.state_dict()
for name in ('fc1', 'fc2', 'fc3'):
    deq = export[f'{name}.weight_int8'].float() * export[f'{name}.weight_scale'][:, None]
    state[f'{name}.weight'] = deq
    state[f'{name}.bias'] = export[f'{name}.bias']
float_model.load_state_dict(state)
fq = torch.fake_quantize_per_channel_affine(model.fc1.weight.detach(),
                                            *weight_qparams(model.fc1.weight), 0, -128, 127)
print(f'dequantized == fake-quantized weights: '
      f'{torch.allclose(float_model.fc1.weight, fq, atol=1e-6)}')
loss, accuracy = evaluate(float_model)
print(f'dequantized int8 model | test loss {loss:.4f} | accuracy {accuracy:.3f}')
