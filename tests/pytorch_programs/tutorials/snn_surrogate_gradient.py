"""A spiking neural network trained by surrogate gradients (Neftci, Mostafa and Zenke, 2019,
"Surrogate Gradient Learning in Spiking Neural Networks"; Zenke and Ganguli, 2018,
"SuperSpike"), written for the xpnn tests after snnTorch's tutorials, on made-up
rate-coded data.

Each sample is 25 time steps of 40 binary input spike trains: every class has its own
firing-rate profile over the inputs, and the spikes are Bernoulli draws at those rates (made
with NumPy, so the data set is fixed). Two layers of leaky integrate-and-fire neurons follow
``nn.Linear`` layers: the membrane decays by beta, integrates the input current and, after a
spike, is reset by subtracting the threshold, with the reset term ``.detach()``-ed as in
snnTorch. The spike is a ``torch.autograd.Function`` whose forward is the Heaviside step of
(membrane - threshold), saved by ``ctx.save_for_backward``, and whose backward is the fast
sigmoid surrogate grad / (1 + k |u|) ** 2. The network unrolls over time in a Python loop
(backpropagation through time), collecting spikes and membranes by ``torch.stack``; the
output neurons' spike counts are the logits of a cross-entropy loss. Adam; the loss, the
accuracy by spike count and the hidden and output firing rates are printed per epoch, and the
surrogate's gradient is checked once against its formula.

    python tests/pytorch_programs/tutorials/snn_surrogate_gradient.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
rng = np.random.default_rng(11)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

T, N_IN, N_HID, N_OUT = 25, 40, 64, 6


def make_data(count):
    """Each class raises a Gaussian bump of inputs from 10% to 25% per step."""
    centres = np.linspace(5, N_IN - 5, N_OUT)
    labels = rng.integers(0, N_OUT, count)
    rates = 0.1 + 0.15 * np.exp(-0.5 * ((np.arange(N_IN)[None] - centres[labels, None])
                                         / 6.0) ** 2)
    spikes = rng.random((T, count, N_IN)) < rates[None]
    return torch.tensor(spikes, dtype=torch.float32), torch.tensor(labels, dtype=torch.long)


class FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward, d spike / d u = 1 / (1 + slope |u|) ** 2 backward."""
    slope = 25.0

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).float()

    @staticmethod
    def backward(ctx, grad_output):
        u, = ctx.saved_tensors
        return grad_output / (FastSigmoidSpike.slope * u.abs() + 1.0) ** 2


spike_fn = FastSigmoidSpike.apply


class LIF(nn.Module):
    def __init__(self, beta=0.9, threshold=1.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, current, mem, spk):
        mem = self.beta * mem + current - spk.detach() * self.threshold
        spk = spike_fn(mem - self.threshold)
        return spk, mem


class SNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(N_IN, N_HID)
        self.lif1 = LIF()
        self.fc2 = nn.Linear(N_HID, N_OUT)
        self.lif2 = LIF(beta=0.85)

    def forward(self, x):
        batch = x.shape[1]
        mem1 = torch.zeros(batch, N_HID, device=x.device)
        spk1 = torch.zeros_like(mem1)
        mem2 = torch.zeros(batch, N_OUT, device=x.device)
        spk2 = torch.zeros_like(mem2)
        hidden, out, mems = [], [], []
        for t in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[t]), mem1, spk1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2, spk2)
            hidden.append(spk1)
            out.append(spk2)
            mems.append(mem2)
        return torch.stack(hidden), torch.stack(out), torch.stack(mems)


train_x, train_y = make_data(320)
test_x, test_y = make_data(160)
print(f'inputs {tuple(train_x.shape)}, mean input rate {train_x.mean().item():.4f}')

# the surrogate against its formula
u = torch.linspace(-0.3, 0.3, 7, requires_grad=True)
spike_fn(u).sum().backward()
print(f'spikes {spike_fn(u).detach().tolist()}')
print(f'surrogate ok: {torch.allclose(u.grad, 1 / (25 * u.detach().abs() + 1) ** 2)}')

model = SNN().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.9, 0.999))
# the data are (T, N, inputs): the loader batches the samples, moved to dim 1 in the step
loader = DataLoader(TensorDataset(train_x.transpose(0, 1), train_y), batch_size=32,
                    shuffle=True)


def evaluate():
    with torch.no_grad():
        hidden, out, _ = model(test_x.to(device))
        counts = out.sum(dim=0)
        loss = F.cross_entropy(counts, test_y.to(device)).item()
        correct = (counts.argmax(dim=1) == test_y.to(device)).sum().item()
    return loss, correct / len(test_y), hidden.mean().item(), out.mean().item()


loss, acc, rate_h, rate_o = evaluate()
print(f'untrained | test loss {loss:.4f} | accuracy {acc:.3f} | hidden rate {rate_h:.4f} | '
      f'output rate {rate_o:.4f}')
for epoch in range(1, 6):
    total = 0.0
    for x, y in loader:
        x, y = x.transpose(0, 1).to(device), y.to(device)
        _, out, mem = model(x)
        loss = F.cross_entropy(out.sum(dim=0), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    loss, acc, rate_h, rate_o = evaluate()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {loss:.4f} | '
          f'accuracy {acc:.3f} | hidden rate {rate_h:.4f} | output rate {rate_o:.4f}')
