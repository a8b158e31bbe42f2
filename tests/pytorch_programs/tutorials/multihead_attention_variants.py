"""nn.MultiheadAttention's less common arguments and a full nn.Transformer, after the
torch.nn documentation and PyTorch's "Language Translation with nn.Transformer" tutorial.

A pre-norm ``nn.Transformer(norm_first=True, activation="gelu")`` learns to reverse made-up
token sequences of varying length (padded, with src/tgt key padding masks and the square
subsequent mask from ``generate_square_subsequent_mask`` as tgt_mask, a memory mask of
zeros), and decodes the test set greedily. Then one ``nn.MultiheadAttention`` with
``kdim``/``vdim`` unlike ``embed_dim``, ``add_bias_kv=True`` and ``add_zero_attn=True``
(batch_first=False) is called with a boolean ``key_padding_mask`` and a float 3-D
``attn_mask`` of shape (N * heads, L, S), returning per-head weights
(``average_attn_weights=False``); its weights are set from NumPy, and the head-averaged
weights and masked columns are checked.

    python tests/pytorch_programs/tutorials/multihead_attention_variants.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(2)
PAD, BOS, EOS, VOCAB = 0, 1, 2, 12
D_MODEL, MAX_LEN = 32, 8


def make_pairs(count):
    """Sequences of 3..MAX_LEN tokens (3..VOCAB-1) and their reversals, padded, with BOS and
    EOS around the targets."""
    src = np.full((count, MAX_LEN), PAD)
    tgt = np.full((count, MAX_LEN + 2), PAD)
    for i in range(count):
        n = rng.integers(3, MAX_LEN + 1)
        seq = rng.integers(3, VOCAB, n)
        src[i, :n] = seq
        tgt[i, 0], tgt[i, 1:n + 1], tgt[i, n + 1] = BOS, seq[::-1], EOS
    return torch.tensor(src), torch.tensor(tgt)


class Reverser(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL, padding_idx=PAD)
        self.pos = nn.Embedding(MAX_LEN + 2, D_MODEL)
        self.transformer = nn.Transformer(d_model=D_MODEL, nhead=4, num_encoder_layers=2,
                                          num_decoder_layers=2, dim_feedforward=64,
                                          dropout=0.0, activation="gelu", norm_first=True,
                                          batch_first=True)
        self.out = nn.Linear(D_MODEL, VOCAB)

    def tokens(self, ids):
        positions = torch.arange(ids.shape[1])
        return self.embed(ids) * math.sqrt(D_MODEL) + self.pos(positions)

    def forward(self, src, tgt):
        tgt_mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        memory_mask = torch.zeros(tgt.shape[1], src.shape[1])
        # float padding masks (-inf at PAD), of the float masks' type
        src_pad = torch.zeros(src.shape).masked_fill(src == PAD, float("-inf"))
        tgt_pad = torch.zeros(tgt.shape).masked_fill(tgt == PAD, float("-inf"))
        h = self.transformer(self.tokens(src), self.tokens(tgt), src_mask=None,
                             tgt_mask=tgt_mask, memory_mask=memory_mask,
                             src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                             memory_key_padding_mask=src_pad, tgt_is_causal=True)
        return self.out(h)


def greedy(model, src):
    ys = torch.full((src.shape[0], 1), BOS)
    for _ in range(MAX_LEN + 1):
        logits = model(src, ys)
        ys = torch.cat([ys, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return ys


train_src, train_tgt = make_pairs(256)
test_src, test_tgt = make_pairs(64)
model = Reverser()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)


def loss_of(src, tgt):
    logits = model(src, tgt[:, :-1])
    return F.cross_entropy(logits.reshape(-1, VOCAB), tgt[:, 1:].reshape(-1),
                           ignore_index=PAD)


with torch.no_grad():
    print(f"untrained | test loss {loss_of(test_src, test_tgt).item():.4f}")
for epoch in range(1, 9):
    perm = torch.arange(len(train_src)).view(-1, 32)[torch.tensor(
        rng.permutation(len(train_src) // 32))]
    total = 0.0
    for idx in perm:
        optimizer.zero_grad()
        loss = loss_of(train_src[idx], train_tgt[idx])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    with torch.no_grad():
        test_loss = loss_of(test_src, test_tgt).item()
    print(f"epoch {epoch} | train loss {total / len(perm):.4f} | test loss {test_loss:.4f}")

model.eval()
with torch.no_grad():
    decoded = greedy(model, test_src)
    target = test_tgt[:, 1:]
    mask = target != PAD
    token_acc = ((decoded[:, 1:] == target) & mask).sum().item() / mask.sum().item()
print(f"greedy decoding | token accuracy {token_acc:.3f} | first source "
      f"{test_src[0][test_src[0] != PAD].tolist()}")

# nn.MultiheadAttention's less common arguments, weights from NumPy
E, KD, VD, HEADS, L, S, N = 16, 6, 10, 4, 5, 7, 3
mha = nn.MultiheadAttention(E, HEADS, kdim=KD, vdim=VD, add_bias_kv=True, add_zero_attn=True,
                            batch_first=False)
with torch.no_grad():
    for name, p in mha.named_parameters():
        p.copy_(torch.tensor(0.3 * rng.standard_normal(tuple(p.shape)), dtype=torch.float32))
print("mha parameters: " + ", ".join(f"{n} {tuple(p.shape)}" for n, p in mha.named_parameters()))
query = torch.tensor(rng.standard_normal((L, N, E)), dtype=torch.float32)
key = torch.tensor(rng.standard_normal((S, N, KD)), dtype=torch.float32)
value = torch.tensor(rng.standard_normal((S, N, VD)), dtype=torch.float32)
key_padding_mask = torch.zeros(N, S, dtype=torch.bool)
key_padding_mask[0, -2:] = True
key_padding_mask[2, -1] = True
attn_mask = torch.tensor(0.5 * rng.standard_normal((N * HEADS, L, S)), dtype=torch.float32)
out, weights = mha(query, key, value, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                   need_weights=True, average_attn_weights=False)
_, averaged = mha(query, key, value, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
print(f"mha output {tuple(out.shape)} | per-head weights {tuple(weights.shape)} "
      f"(bias_kv and zero_attn add {weights.shape[-1] - S} key columns)")
print(f"averaged weights match the head mean: {torch.allclose(averaged, weights.mean(1))} | "
      f"padded keys get {weights[0, :, :, S - 2:S].abs().max().item():.1f} | rows sum to 1: "
      f"{torch.allclose(weights.sum(-1), torch.ones(N, HEADS, L))}")
out.pow(2).mean().backward()
print(f"output mean square {out.pow(2).mean().item():.5f} | bias_k grad norm "
      f"{mha.bias_k.grad.norm().item():.5f} | k_proj grad norm "
      f"{mha.k_proj_weight.grad.norm().item():.5f}")
