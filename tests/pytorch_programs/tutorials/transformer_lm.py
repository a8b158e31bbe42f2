"""pytorch/tutorials beginner_source/transformer_tutorial.py, written small for the xpnn
tests: a Transformer language model on a made-up corpus (sentences from a tiny grammar)
instead of WikiText-2, batch first.

``nn.TransformerEncoderLayer(batch_first=True)`` stacked by ``nn.TransformerEncoder``, the
causal mask from ``nn.Transformer.generate_square_subsequent_mask`` (checked against
``torch.triu(torch.full((T, T), float('-inf')), diagonal=1)``), the sinusoidal position
table built with ``torch.arange(...).unsqueeze(1)`` and ``torch.exp(...)`` and kept by
``register_buffer``, gradient clipping, StepLR, and a few small tensors printed.

    python tests/pytorch_programs/tutorials/transformer_lm.py
"""
import math
import random
import time

import torch
from torch import nn, Tensor
from torch.nn import TransformerEncoder, TransformerEncoderLayer

random.seed(11)
torch.manual_seed(11)


class PositionalEncoding(nn.Module):

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)

        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer('pe', pe)

    def forward(self, x: Tensor) -> Tensor:
        """x: Tensor, shape ``[batch_size, seq_len, embedding_dim]``"""
        x = x + self.pe[:, :x.size(1)]
        return self.dropout(x)


class TransformerModel(nn.Module):

    def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int,
                 nlayers: int, dropout: float = 0.1):
        super().__init__()
        self.model_type = 'Transformer'
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout,
                                                 batch_first=True)
        self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers,
                                                      enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)

        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        """src: Tensor, shape ``[batch_size, seq_len]``; returns ``[batch_size, seq_len,
        ntoken]``"""
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            src_mask = nn.Transformer.generate_square_subsequent_mask(src.size(1))
        output = self.transformer_encoder(src, src_mask, is_causal=True)
        output = self.linear(output)
        return output


# the corpus: sentences of a tiny grammar, one token id per word
SUBJECTS = "the cat|a dog|my friend|the old man|her brother".split("|")
VERBS = "sees|likes|finds|follows".split("|")
OBJECTS = "the ball|a red car|the garden|his hat|a small bird".split("|")
words = []
for _ in range(300):
    words += (random.choice(SUBJECTS) + " " + random.choice(VERBS) + " "
              + random.choice(OBJECTS) + " .").split()
vocab = {w: i for i, w in enumerate(sorted(set(words)))}
data = torch.tensor([vocab[w] for w in words], dtype=torch.long)
ntokens = len(vocab)
print('tokens:', data.numel(), 'vocabulary:', ntokens)


def batchify(data: Tensor, bsz: int) -> Tensor:
    """Divides the data into ``bsz`` separate sequences: shape ``[bsz, N // bsz]``."""
    seq_len = data.size(0) // bsz
    data = data[:seq_len * bsz]
    return data.view(bsz, seq_len).contiguous()


n_train = int(0.9 * data.numel())
batch_size = 8
train_data = batchify(data[:n_train], batch_size)
val_data = batchify(data[n_train:], 4)
print(train_data[:2, :6])

bptt = 16


def get_batch(source: Tensor, i: int):
    seq_len = min(bptt, source.size(1) - 1 - i)
    data = source[:, i:i + seq_len]
    target = source[:, i + 1:i + 1 + seq_len].reshape(-1)
    return data, target


model = TransformerModel(ntokens, 32, 2, 64, 2, 0.1)
mask = nn.Transformer.generate_square_subsequent_mask(4)
print(mask)
print(torch.equal(mask, torch.triu(torch.full((4, 4), float('-inf')), diagonal=1)))
print(model.pos_encoder.pe[0, :3, :4])

criterion = nn.CrossEntropyLoss()
lr = 1.0
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.8)


def train(model: nn.Module) -> None:
    model.train()
    total_loss = 0.
    log_interval = 4
    start_time = time.time()
    src_mask = nn.Transformer.generate_square_subsequent_mask(bptt)
    num_batches = (train_data.size(1) - 1) // bptt
    for batch, i in enumerate(range(0, train_data.size(1) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        seq_len = data.size(1)
        if seq_len != bptt:  # only on last batch
            src_mask = src_mask[:seq_len, :seq_len]
        output = model(data, src_mask)
        loss = criterion(output.view(-1, ntokens), targets)

        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()

        total_loss += loss.item()
        if batch % log_interval == 0 and batch > 0:
            lr = scheduler.get_last_lr()[0]
            ms_per_batch = (time.time() - start_time) * 1000 / log_interval
            cur_loss = total_loss / log_interval
            print(f'| epoch {epoch:3d} | {batch:5d}/{num_batches:5d} batches | '
                  f'lr {lr:02.2f} | ms/batch {ms_per_batch:5.2f} | '
                  f'loss {cur_loss:5.2f} | ppl {math.exp(cur_loss):8.2f}')
            total_loss = 0
            start_time = time.time()


def evaluate(model: nn.Module, eval_data: Tensor) -> float:
    model.eval()
    total_loss = 0.
    src_mask = nn.Transformer.generate_square_subsequent_mask(bptt)
    with torch.no_grad():
        for i in range(0, eval_data.size(1) - 1, bptt):
            data, targets = get_batch(eval_data, i)
            seq_len = data.size(1)
            if seq_len != bptt:
                src_mask = src_mask[:seq_len, :seq_len]
            output = model(data, src_mask)
            output_flat = output.view(-1, ntokens)
            total_loss += seq_len * criterion(output_flat, targets).item()
    return total_loss / (eval_data.size(1) - 1)


for epoch in range(1, 5):
    epoch_start_time = time.time()
    train(model)
    val_loss = evaluate(model, val_data)
    val_ppl = math.exp(val_loss)
    print('-' * 89)
    print(f'| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | valid ppl {val_ppl:8.2f}')
    print('-' * 89)
    scheduler.step()

model.eval()
with torch.no_grad():
    logits = model(val_data[:1, :5])
    probs = logits.softmax(dim=-1)
    print(probs.argmax(dim=-1))
    print(probs.shape, probs.sum(dim=-1))
