"""A sentence VAE with KL annealing and word dropout (Bowman et al., 2016, "Generating
Sentences from a Continuous Space"), written for the xpnn tests on made-up sentences.

The sentences come from a tiny grammar (made with NumPy): a start word and a stride, then
words counting up from the start by the stride, 4 to 8 words long, padded with <pad>. A GRU
encoder reads the embedded sentence and its last hidden state gives the posterior's mean
and log-variance; z is drawn by the reparameterisation trick (``torch.randn_like``). A GRU
decoder starts from ``tanh(Linear(z))``, is fed z beside every input word and is trained by
teacher forcing on <bos> + the sentence, with word dropout: each input word is replaced by
<unk> with probability 0.25, the mask taken from ``F.dropout`` on ones, so the decoder leans
on z. The loss is ``F.cross_entropy(ignore_index=PAD)`` summed per sentence plus the KL term
``torch.distributions.kl_divergence(Normal(mu, std), Normal(0, 1))`` weighted by a sigmoid
annealing schedule. Adam with gradient clipping; the loss, its KL part, the weight and the
test reconstruction accuracy (greedy decoding from the posterior mean under no_grad) are
printed per epoch, then a few sentences are decoded from prior draws.

    python tests/pytorch_programs/tutorials/sentence_vae_kl_annealing.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rng = np.random.default_rng(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

PAD, BOS, EOS, UNK = 0, 1, 2, 3
N_WORDS, MAX_LEN = 20, 10
VOCAB = 4 + N_WORDS


def make_data(count):
    tokens = np.full((count, MAX_LEN), PAD, dtype=np.int64)
    for i in range(count):
        start, stride = rng.integers(0, N_WORDS), rng.integers(1, 4)
        length = rng.integers(4, 9)
        words = 4 + (start + stride * np.arange(length)) % N_WORDS
        tokens[i, :length] = words
        tokens[i, length] = EOS
    return torch.tensor(tokens)


class SentenceVAE(nn.Module):
    def __init__(self, embed=32, hidden=64, latent=8, word_dropout=0.25):
        super().__init__()
        self.word_dropout = word_dropout
        self.embed = nn.Embedding(VOCAB, embed, padding_idx=PAD)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.to_mu = nn.Linear(hidden, latent)
        self.to_logvar = nn.Linear(hidden, latent)
        self.to_hidden = nn.Linear(latent, hidden)
        self.decoder = nn.GRU(embed + latent, hidden, batch_first=True)
        self.out = nn.Linear(hidden, VOCAB)

    def encode(self, tokens):
        _, h = self.encoder(self.embed(tokens))
        return self.to_mu(h[-1]), self.to_logvar(h[-1])

    def decode(self, z, inputs, h=None):
        if h is None:
            h = torch.tanh(self.to_hidden(z)).unsqueeze(0)
        steps = z.unsqueeze(1).expand(-1, inputs.size(1), -1)
        out, h = self.decoder(torch.cat([self.embed(inputs), steps], dim=-1), h)
        return self.out(out), h

    def forward(self, tokens):
        mu, logvar = self.encode(tokens)
        std = torch.exp(0.5 * logvar)
        z = mu + std * torch.randn_like(std)
        inputs = torch.cat([torch.full_like(tokens[:, :1], BOS), tokens[:, :-1]], dim=1)
        if self.training and self.word_dropout > 0:
            keep = F.dropout(torch.ones(inputs.shape, device=inputs.device),
                             self.word_dropout, training=True) > 0
            real = (inputs != PAD) & (inputs != BOS)
            inputs = torch.where(real & ~keep, torch.full_like(inputs, UNK), inputs)
        logits, _ = self.decode(z, inputs)
        return logits, mu, std

    @torch.no_grad()
    def greedy(self, z, steps=MAX_LEN):
        word = torch.full((z.size(0), 1), BOS, dtype=torch.long, device=z.device)
        h, words = None, []
        for _ in range(steps):
            logits, h = self.decode(z, word, h)
            word = logits.argmax(dim=-1)
            words.append(word)
        return torch.cat(words, dim=1)


def kl_weight(step, k=0.05, x0=120):
    """Bowman et al.'s logistic annealing of the KL term's weight from 0 to 1."""
    return 1.0 / (1.0 + math.exp(-k * (step - x0)))


def vae_loss(model, tokens, weight):
    logits, mu, std = model(tokens)
    rec = F.cross_entropy(logits.reshape(-1, VOCAB), tokens.reshape(-1), ignore_index=PAD,
                          reduction='sum') / tokens.size(0)
    prior = Normal(torch.zeros_like(mu), torch.ones_like(std))
    kl = kl_divergence(Normal(mu, std), prior).sum(dim=-1).mean()
    return rec + weight * kl, rec, kl


def reconstruction_accuracy(model, tokens):
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(tokens)
        words = model.greedy(mu)
    model.train()
    real = tokens != PAD
    return ((words == tokens) & real).sum().item() / real.sum().item()


train = make_data(512)
test = make_data(128).to(device)
mean_length = (train > EOS).sum(1).float().mean().item()
print(f'sentences {tuple(train.shape)} | mean length {mean_length:.3f}')
model = SentenceVAE().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(TensorDataset(train), batch_size=32, shuffle=True)

step = 0
for epoch in range(1, 9):
    total = total_kl = 0.0
    for (tokens,) in loader:
        weight = kl_weight(step)
        loss, rec, kl = vae_loss(model, tokens.to(device), weight)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        total += loss.item()
        total_kl += kl.item()
        step += 1
    model.eval()
    with torch.no_grad():
        test_loss, test_rec, test_kl = vae_loss(model, test, 1.0)
    model.train()
    acc = reconstruction_accuracy(model, test)
    print(f'epoch {epoch} | kl weight {weight:.3f} | train loss {total / len(loader):.4f} | '
          f'kl {total_kl / len(loader):.4f} | test elbo loss {test_loss.item():.4f} | '
          f'test rec {test_rec.item():.4f} | reconstruction accuracy {acc:.3f}')

model.eval()
z = torch.randn(4, 8, device=device)
for row in model.greedy(z).tolist():
    words = row[:row.index(EOS)] if EOS in row else row
    print('sampled:', ' '.join(f'w{w - 4}' if w >= 4 else '<unk>' for w in words))
