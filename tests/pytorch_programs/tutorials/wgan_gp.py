"""A Wasserstein GAN with gradient penalty (Gulrajani et al., 2017), written for the xpnn
tests, learning a made-up 2-D distribution: a Gaussian centred at (2, -1), stretched along one diagonal.

An MLP generator and an MLP critic; each generator step follows 5 critic steps, whose loss
is ``critic(fake) - critic(real)`` plus 10 times ``(||grad critic(x_hat)|| - 1)^2`` at
random interpolates ``x_hat``, the gradient taken with
``torch.autograd.grad(create_graph=True)`` so the penalty is itself differentiated. Adam
with betas (0.5, 0.9), as the paper's toy runs. Printed: the critic's Wasserstein estimate,
the penalty and how far the generated points' mean and standard deviations are from the
target's.

    python tests/pytorch_programs/tutorials/wgan_gp.py
"""
import torch
import torch.nn as nn

torch.manual_seed(21)

centre = torch.tensor([2.0, -1.0])
stretch = torch.tensor([[1.0, 0.6], [0.6, 0.5]])
target = centre + torch.randn(4096, 2) @ stretch


def sample_real(n):
    return centre + torch.randn(n, 2) @ stretch


def moment_error(points):
    return ((points.mean(0) - target.mean(0)).norm()
            + (points.std(0) - target.std(0)).norm()).item()


nz, batch_size, critic_steps, lambda_gp = 4, 64, 5, 10.0
generator = nn.Sequential(nn.Linear(nz, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
critic = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                       nn.Linear(64, 1))
print(generator)
print(critic)
opt_g = torch.optim.Adam(generator.parameters(), lr=4e-4, betas=(0.5, 0.9))
opt_c = torch.optim.Adam(critic.parameters(), lr=4e-4, betas=(0.5, 0.9))


def gradient_penalty(real, fake):
    alpha = torch.rand(real.size(0), 1)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(x_hat)
    grads, = torch.autograd.grad(outputs=scores, inputs=x_hat,
                                 grad_outputs=torch.ones_like(scores), create_graph=True)
    return ((grads.norm(2, dim=1) - 1) ** 2).mean()


fixed_noise = torch.randn(512, nz)
with torch.no_grad():
    print('before training: moment error {:.3f}'.format(
        moment_error(generator(fixed_noise))))

for it in range(1, 121):
    for _ in range(critic_steps):
        real = sample_real(batch_size)
        with torch.no_grad():
            fake = generator(torch.randn(batch_size, nz))
        w_estimate = critic(real).mean() - critic(fake).mean()
        gp = gradient_penalty(real, fake)
        loss_c = -w_estimate + lambda_gp * gp
        opt_c.zero_grad()
        loss_c.backward()
        opt_c.step()
    fake = generator(torch.randn(batch_size, nz))
    loss_g = -critic(fake).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    if it % 15 == 0:
        with torch.no_grad():
            dist = moment_error(generator(fixed_noise))
        print('iter {:3d} | W estimate {:.4f} | penalty {:.4f} | loss_G {:.4f} | '
              'moment error {:.3f}'.format(it, w_estimate.item(), gp.item(),
                                                 loss_g.item(), dist))
