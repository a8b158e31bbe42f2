"""A tiny wav2vec 2.0 (Baevski et al., 2020, "wav2vec 2.0: A Framework for Self-Supervised
Learning of Speech Representations"), written for the xpnn tests on made-up waveforms (sums
of a few sinusoids with random frequencies, amplitudes and phases, plus noise).

A strided ``nn.Conv1d`` feature encoder (the first layer followed by ``nn.GroupNorm`` with
one group per channel, every layer by ``nn.GELU``) turns the waveform into frames. A product
quantizer maps each frame to ``G`` codebook groups of ``V`` entries: in training by
``F.gumbel_softmax(logits, tau=..., hard=True)`` per group (tau annealed), in evaluation by
the argmax, and the chosen entries are concatenated and projected. Spans of frames are
masked: span starts where ``torch.rand(B, T) < p``, widened by a max pool, and the masked
frames replaced by a learned mask embedding through ``torch.where`` (the padding of the
evaluation batch's masks by ``masked_fill``). A small ``nn.TransformerEncoder`` gives the
context vectors. The contrastive loss scores each masked frame's context against its own
quantized target and ``K`` distractors from other frames of the same utterance, drawn by
``torch.randint(0, T - 1, ...)`` and shifted past the positive (so never the positive), by
``F.cosine_similarity`` over a temperature, and takes ``F.cross_entropy`` with the
positive at index 0. The diversity loss pushes up the entropy of each group's softmax
averaged over the batch (the codebook perplexity).

The evaluation batch uses fixed masks and distractors made by NumPy, so its loss is
deterministic. Printed per epoch: the training losses, the evaluation contrastive loss,
the accuracy of picking the positive, and the codebook perplexity.

    python tests/pytorch_programs/tutorials/wav2vec_contrastive.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_samples, wave_len = 96, 400
G, V, K = 2, 8, 6                      # codebook groups, entries per group, distractors
d_model, mask_prob, mask_span = 32, 0.15, 3


def make_waves(count):
    t = np.arange(wave_len) / 400.0
    waves = np.zeros((count, wave_len))
    for i in range(count):
        for _ in range(3):
            f = rng.uniform(5, 60)
            waves[i] += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28))
    waves += 0.05 * rng.standard_normal(waves.shape)
    return torch.from_numpy(waves.astype(np.float32)).unsqueeze(1)


train_waves = make_waves(n_samples).to(device)
eval_waves = make_waves(16).to(device)


class FeatureEncoder(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(1, dim, 10, stride=5, bias=False), nn.GroupNorm(dim, dim), nn.GELU(),
            nn.Conv1d(dim, dim, 3, stride=2, bias=False), nn.GELU(),
            nn.Conv1d(dim, dim, 3, stride=2, bias=False), nn.GELU())

    def forward(self, wave):
        return self.layers(wave).transpose(1, 2)          # (B, T, C)


class GumbelQuantizer(nn.Module):
    def __init__(self, dim, groups, entries, code_dim):
        super().__init__()
        self.groups, self.entries = groups, entries
        self.to_logits = nn.Linear(dim, groups * entries)
        self.codevectors = nn.Parameter(torch.randn(groups * entries, code_dim // groups))
        self.project = nn.Linear(code_dim, code_dim)

    def forward(self, feats, tau):
        B, T, _ = feats.shape
        logits = self.to_logits(feats).view(B * T * self.groups, self.entries)
        probs = logits.softmax(dim=-1).view(B * T, self.groups, self.entries)
        avg_probs = probs.mean(dim=0)                      # (G, V)
        perplexity = torch.exp(-(avg_probs * torch.log(avg_probs + 1e-7)).sum(-1)).sum()
        if self.training:
            onehot = F.gumbel_softmax(logits, tau=tau, hard=True)
        else:
            onehot = F.one_hot(logits.argmax(-1), self.entries).type_as(logits)
        onehot = onehot.view(B * T, self.groups, self.entries, 1)
        books = self.codevectors.view(1, self.groups, self.entries, -1)
        codes = (onehot * books).sum(-2).reshape(B, T, -1)
        return self.project(codes), perplexity


class Wav2Vec(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.encoder = FeatureEncoder(dim)
        self.norm = nn.LayerNorm(dim)
        self.quantizer = GumbelQuantizer(dim, G, V, dim)
        self.mask_emb = nn.Parameter(torch.rand(dim))
        layer = nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.0, batch_first=True,
                                           activation='gelu')
        self.context = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.final = nn.Linear(dim, dim)

    def forward(self, wave, mask, tau=1.0):
        feats = self.norm(self.encoder(wave))
        targets, perplexity = self.quantizer(feats, tau)
        masked = torch.where(mask.unsqueeze(-1), self.mask_emb.expand_as(feats), feats)
        context = self.final(self.context(masked))
        return context, targets, perplexity


def span_mask(B, T):
    starts = (torch.rand(B, T, device=device) < mask_prob).float()
    spans = F.max_pool1d(F.pad(starts.unsqueeze(1), (mask_span - 1, 0)), mask_span, stride=1)
    return spans.squeeze(1).bool()


def contrastive_loss(context, targets, mask, neg_idx, temperature=0.1):
    B, T, C = targets.shape
    negs = torch.gather(targets.unsqueeze(1).expand(B, T, T, C), 2,
                        neg_idx.unsqueeze(-1).expand(B, T, K, C))          # (B, T, K, C)
    candidates = torch.cat([targets.unsqueeze(2), negs], dim=2)            # (B, T, 1+K, C)
    logits = F.cosine_similarity(context.unsqueeze(2), candidates, dim=-1) / temperature
    logits = logits[mask]                                                  # (M, 1+K)
    labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    loss = F.cross_entropy(logits, labels)
    correct = (logits.argmax(-1) == 0).sum()
    return loss, correct, logits.shape[0]


model = Wav2Vec(d_model).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
# the frame count, as wav2vec 2.0's _get_feat_extract_output_lengths computes it
T = wave_len
for conv in model.encoder.layers:
    if isinstance(conv, nn.Conv1d):
        T = (T - conv.kernel_size[0]) // conv.stride[0] + 1
print(f'frames per wave {T}, codebook {G} x {V}, distractors {K}')

# fixed evaluation masks and distractors, made on the host
eval_mask = torch.from_numpy(rng.random((len(eval_waves), T)) < 0.3).to(device)
eval_mask = eval_mask.masked_fill(torch.arange(T, device=device) < 1, False)
pick = rng.integers(0, T - 1, (len(eval_waves), T, K))
pick = pick + (pick >= np.arange(T)[None, :, None])
eval_negs = torch.from_numpy(pick).to(device)


def evaluate():
    model.eval()
    with torch.no_grad():
        context, targets, perplexity = model(eval_waves, eval_mask)
        loss, correct, count = contrastive_loss(context, targets, eval_mask, eval_negs)
    model.train()
    return loss.item(), correct.item() / count, perplexity.item()


loss0, acc0, ppl0 = evaluate()
print(f'untrained | eval contrastive {loss0:.4f} | accuracy {acc0:.3f} | perplexity {ppl0:.3f}')

batch, epochs = 16, 6
steps = n_samples // batch
for epoch in range(epochs):
    tau = max(2.0 * 0.7 ** epoch, 0.5)
    totals = np.zeros(3)
    for step in range(steps):
        wave = train_waves[step * batch:(step + 1) * batch]
        mask = span_mask(wave.shape[0], T)
        neg_idx = torch.randint(0, T - 1, (wave.shape[0], T, K), device=device)
        neg_idx = neg_idx + (neg_idx >= torch.arange(T, device=device).view(1, T, 1)).long()
        context, targets, perplexity = model(wave, mask, tau)
        loss_c, _, _ = contrastive_loss(context, targets, mask, neg_idx)
        loss_d = (G * V - perplexity) / (G * V)
        loss = loss_c + 0.1 * loss_d
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals += [loss.item(), loss_c.item(), loss_d.item()]
    totals /= steps
    ev_loss, ev_acc, ev_ppl = evaluate()
    print(f'epoch {epoch} | tau {tau:.3f} | train loss {totals[0]:.4f} | contrastive '
          f'{totals[1]:.4f} | diversity {totals[2]:.4f} | eval contrastive {ev_loss:.4f} | '
          f'accuracy {ev_acc:.3f} | perplexity {ev_ppl:.3f}')
