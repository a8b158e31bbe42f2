"""An AWD-LSTM language model, written for the xpnn tests after Merity et al.'s
salesforce/awd-lstm-lm, on a made-up Markov-chain corpus of 30 words.

The model: an embedding whose rows are dropped as a whole (embedding dropout: a
``bernoulli_`` row mask, then ``F.embedding`` of the masked weight), a stack of single-layer
``nn.LSTM`` modules with locked (variational) dropout between them (one ``bernoulli_`` mask
per sequence, shared over time), DropConnect on each LSTM's hidden-to-hidden weight by a
``torch.nn.utils.parametrize`` parametrization calling ``F.dropout`` (under
``parametrize.cached()``, one mask per forward), and a decoder whose
weight is the embedding's (weight tying). The loss adds activation regularization (AR) and
temporal activation regularization (TAR); gradients are clipped by ``clip_grad_norm_``. It
trains by SGD, then switches to ``torch.optim.ASGD`` (NT-ASGD: on a validation plateau, or
at a fixed epoch at the latest), evaluating with the averaged weights ``optimizer.state[p]
['ax']`` swapped in. A second, smaller model uses ``nn.LSTM(proj_size=...)`` so that its
projected output can be tied to the embedding, trained by ASGD from the start.

    python tests/pytorch_programs/tutorials/awd_lstm.py
"""
import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize

torch.manual_seed(11)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

# ---------- a Markov-chain corpus ----------
vocab = 30
rng = random.Random(0)
successors = [rng.sample(range(vocab), 3) for _ in range(vocab)]
words, w = [], 0
for _ in range(3000):
    w = successors[w][0] if rng.random() < 0.6 else rng.choice(successors[w])
    words.append(w)
corpus = torch.tensor(words, dtype=torch.long)
train_data, val_data = corpus[:2400], corpus[2400:]


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous().to(device)


bptt, batch_size = 20, 10
train_batches, val_batches = batchify(train_data, batch_size), batchify(val_data, batch_size)


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


# ---------- the regularizers ----------
def embedded_dropout(embed, words, dropout):
    if dropout:
        mask = embed.weight.new_empty((embed.weight.size(0), 1)).bernoulli_(1 - dropout)
        weight = mask.expand_as(embed.weight) / (1 - dropout) * embed.weight
    else:
        weight = embed.weight
    return F.embedding(words, weight, embed.padding_idx, embed.max_norm, embed.norm_type,
                       embed.scale_grad_by_freq, embed.sparse)


class LockedDropout(nn.Module):
    def forward(self, x, dropout=0.5):
        if not self.training or not dropout:
            return x
        mask = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - dropout)
        return x * (mask / (1 - dropout)).expand_as(x)


class DropConnect(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, weight):
        return F.dropout(weight, p=self.p, training=self.training)


# ---------- the model ----------
class AWDLSTM(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.3, dropouth=0.2, dropouti=0.3,
                 dropoute=0.1):
        super().__init__()
        self.lockdrop = LockedDropout()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnns = nn.ModuleList(
            [nn.LSTM(ninp if l == 0 else nhid, nhid if l != nlayers - 1 else ninp)
             for l in range(nlayers)])
        self.decoder = nn.Linear(ninp, ntoken)
        self.decoder.weight = self.encoder.weight  # weight tying
        self.dropout, self.dropouth, self.dropouti, self.dropoute = (dropout, dropouth,
                                                                     dropouti, dropoute)
        self.init_weights()

    def init_weights(self):
        initrange = 0.1
        self.encoder.weight.data.uniform_(-initrange, initrange)
        self.decoder.bias.data.fill_(0)

    def forward(self, words, hidden):
        emb = embedded_dropout(self.encoder, words, self.dropoute if self.training else 0)
        output = self.lockdrop(emb, self.dropouti)
        new_hidden, raw_outputs, outputs = [], [], []
        for l, rnn in enumerate(self.rnns):
            # the LSTM reads weight_hh_l0 more than once per call: cached() makes that one
            # DropConnect mask per forward
            with parametrize.cached():
                output, new_h = rnn(output, hidden[l])
            new_hidden.append(new_h)
            raw_outputs.append(output)
            if l != len(self.rnns) - 1:
                output = self.lockdrop(output, self.dropouth)
                outputs.append(output)
        output = self.lockdrop(output, self.dropout)
        outputs.append(output)
        logits = self.decoder(output)
        return logits.view(-1, logits.size(2)), new_hidden, raw_outputs, outputs

    def init_hidden(self, bsz):
        return [(torch.zeros(1, bsz, rnn.hidden_size, device=device),
                 torch.zeros(1, bsz, rnn.hidden_size, device=device)) for rnn in self.rnns]


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h) if isinstance(h, tuple) else \
        [repackage_hidden(v) for v in h]


criterion = nn.CrossEntropyLoss()


def evaluate(model, source):
    model.eval()
    total, hidden = 0.0, model.init_hidden(batch_size)
    with torch.no_grad():
        for i in range(0, source.size(0) - 1, bptt):
            data, targets = get_batch(source, i)
            logits, hidden, _, _ = model(data, hidden)
            total += len(data) * criterion(logits, targets).item()
    return total / (len(source) - 1)


def train_epoch(model, optimizer, alpha=2.0, beta=1.0, clip=0.25):
    model.train()
    hidden, total, steps = model.init_hidden(batch_size), 0.0, 0
    for i in range(0, train_batches.size(0) - 1, bptt):
        data, targets = get_batch(train_batches, i)
        hidden = repackage_hidden(hidden)
        optimizer.zero_grad()
        logits, hidden, raw_outputs, outputs = model(data, hidden)
        raw_loss = criterion(logits, targets)
        loss = raw_loss + alpha * outputs[-1].pow(2).mean()  # AR
        loss = loss + beta * (raw_outputs[-1][1:] - raw_outputs[-1][:-1]).pow(2).mean()  # TAR
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total, steps = total + raw_loss.item(), steps + 1
    return total / steps


def weight_drop(model, wdrop):
    # after .to(device): an LSTM's _apply re-reads (and so re-draws) its weights
    for rnn in model.rnns:
        parametrize.register_parametrization(rnn, 'weight_hh_l0', DropConnect(wdrop))
    return model


model = AWDLSTM(vocab, 24, 48, 2).to(device)
start = evaluate(model, val_batches)
print(f'untrained valid loss {start:.4f} | ppl {math.exp(start):.2f} | uniform '
      f'{math.log(vocab):.4f}')
model = weight_drop(model, wdrop=0.3)
print(f'tied: {model.decoder.weight is model.encoder.weight} | parameters '
      f'{sum(p.numel() for p in model.parameters())} | parametrized '
      f'{[parametrize.is_parametrized(rnn, "weight_hh_l0") for rnn in model.rnns]} | same '
      f'valid loss: {abs(evaluate(model, val_batches) - start) < 1e-6}')

lr, nonmono, switch_by = 10.0, 3, 4
optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=1.2e-6)
val_history = []
for epoch in range(1, 8):
    train_loss = train_epoch(model, optimizer)
    name = type(optimizer).__name__
    if isinstance(optimizer, torch.optim.ASGD):
        saved = {}
        for prm in model.parameters():  # evaluate with the averaged weights
            saved[prm] = prm.data.clone()
            prm.data = optimizer.state[prm]['ax'].clone()
        val_loss = evaluate(model, val_batches)
        for prm in model.parameters():
            prm.data = saved[prm].clone()
    else:
        val_loss = evaluate(model, val_batches)
    print(f'epoch {epoch} | {name} | train loss {train_loss:.4f} | '
          f'valid loss {val_loss:.4f} | valid ppl {math.exp(val_loss):.2f}')
    if isinstance(optimizer, torch.optim.SGD):
        plateau = len(val_history) > nonmono and val_loss > min(val_history[:-nonmono])
        if plateau or epoch == switch_by:
            print(f'switching to ASGD after epoch {epoch}')
            optimizer = torch.optim.ASGD(model.parameters(), lr=lr, t0=0, lambd=0.0,
                                         weight_decay=1.2e-6)
        val_history.append(val_loss)

rnn = model.rnns[0]
model.train()
with torch.no_grad():
    dropped = rnn.weight_hh_l0
    kept = (dropped != 0).float().mean().item()
model.eval()
with torch.no_grad():
    same = torch.equal(rnn.weight_hh_l0, rnn.parametrizations.weight_hh_l0.original)
print(f'drop-connect keeps {kept:.3f} of weight_hh_l0 in training | eval mode uses the raw '
      f'weight: {same}')


# ---------- a second model: nn.LSTM(proj_size=...) tied to the embedding ----------
class ProjectedLSTM(nn.Module):
    def __init__(self, ntoken, ninp, nhid):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, num_layers=2, proj_size=ninp)
        self.decoder = nn.Linear(ninp, ntoken)
        self.decoder.weight = self.encoder.weight
        self.lockdrop = LockedDropout()

    def forward(self, words, hidden):
        output, hidden = self.rnn(self.lockdrop(self.encoder(words), 0.2), hidden)
        output = self.lockdrop(output, 0.2)
        logits = self.decoder(output)
        return logits.view(-1, logits.size(2)), hidden, [output], [output]

    def init_hidden(self, bsz):
        return (torch.zeros(2, bsz, self.rnn.proj_size, device=device),
                torch.zeros(2, bsz, self.rnn.hidden_size, device=device))


proj = ProjectedLSTM(vocab, 24, 48).to(device)
print(f'proj_size model: {[tuple(p.shape) for n, p in proj.rnn.named_parameters() if "l0" in n]}')
asgd = torch.optim.ASGD(proj.parameters(), lr=5.0, t0=30)
for epoch in range(1, 4):
    train_loss = train_epoch(proj, asgd, alpha=0.0, beta=0.0)
    val_loss = evaluate(proj, val_batches)
    print(f'proj epoch {epoch} | train loss {train_loss:.4f} | valid loss {val_loss:.4f} | '
          f'eta {asgd.state[proj.encoder.weight]["eta"].item():.4f} | mu '
          f'{asgd.state[proj.encoder.weight]["mu"].item():.4f}')
