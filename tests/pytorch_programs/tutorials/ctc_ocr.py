"""A tiny sequence recognizer trained with CTC, written for the xpnn tests, on 256 made-up
"scan lines": each of 5 symbols is a random 8-dimensional feature vector shown for 1 to 3
frames, with noise, so a line of 2 to 4 symbols takes 4 to 20 frames (padded to 20).

Conv1d and ReLU, a bidirectional LSTM, Linear, ``log_softmax`` over the blank and the 5
symbols, and ``nn.CTCLoss`` on the time-major log-probabilities with each line's own input
and target lengths; Adam with gradient clipping; greedy decoding (argmax per frame, repeats
merged, blanks dropped) gives the accuracy of whole lines.

    python tests/pytorch_programs/tutorials/ctc_ocr.py
"""
import random

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(13)
rng = random.Random(13)

n_symbols, n_features, max_frames, max_label = 5, 8, 20, 4
BLANK = 0
prototypes = 2.0 * torch.randn(n_symbols + 1, n_features)


def make_lines(n):
    feats = torch.zeros(n, max_frames, n_features)
    targets = torch.zeros(n, max_label, dtype=torch.long)
    input_lengths, target_lengths = [], []
    for i in range(n):
        label = [rng.randint(1, n_symbols) for _ in range(rng.randint(2, max_label))]
        frames = []
        for s in label:
            frames += [s] * rng.randint(1, 3)
        t = len(frames)
        feats[i, :t] = prototypes[frames] + 0.5 * torch.randn(t, n_features)
        targets[i, :len(label)] = torch.tensor(label)
        input_lengths.append(t)
        target_lengths.append(len(label))
    return feats, targets, torch.tensor(input_lengths), torch.tensor(target_lengths)


train_set = TensorDataset(*make_lines(256))
test_set = TensorDataset(*make_lines(64))
print('lines:', tuple(train_set.tensors[0].shape), 'targets:', tuple(train_set.tensors[1].shape),
      train_set.tensors[2].dtype)


class Recognizer(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.conv = nn.Conv1d(n_in, n_hidden, kernel_size=3, padding=1)
        self.rnn = nn.LSTM(n_hidden, n_hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * n_hidden, n_out)

    def forward(self, x):                       # x: (N, T, F)
        h = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        h, _ = self.rnn(h)
        return self.fc(h).log_softmax(dim=2)    # (N, T, C)


def greedy_decode(log_probs, lengths):
    best = log_probs.argmax(dim=2)
    out = []
    for seq, n in zip(best.tolist(), lengths.tolist()):
        decoded, prev = [], BLANK
        for s in seq[:n]:
            if s != prev and s != BLANK:
                decoded.append(s)
            prev = s
        out.append(decoded)
    return out


model = Recognizer(n_features, 24, n_symbols + 1)
print(model)
ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loader = DataLoader(train_set, batch_size=32, shuffle=True)


def evaluate(dataset):
    model.eval()
    feats, targets, input_lengths, target_lengths = dataset.tensors
    with torch.no_grad():
        log_probs = model(feats)
        loss = ctc(log_probs.transpose(0, 1), targets, input_lengths, target_lengths)
    decoded = greedy_decode(log_probs, input_lengths)
    correct = sum(d == t[:n] for d, t, n in zip(decoded, targets.tolist(),
                                                 target_lengths.tolist()))
    return loss.item(), correct, decoded


for epoch in range(1, 9):
    model.train()
    total = 0.0
    for feats, targets, input_lengths, target_lengths in loader:
        optimizer.zero_grad()
        log_probs = model(feats).transpose(0, 1)   # (T, N, C), as CTCLoss takes it
        loss = ctc(log_probs, targets, input_lengths, target_lengths)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        total += loss.item() * len(feats)
    test_loss, correct, decoded = evaluate(test_set)
    print('epoch {} | train ctc loss {:.4f} | test ctc loss {:.4f} | lines right {}/{}'.format(
        epoch, total / len(train_set), test_loss, correct, len(test_set)))

first = int(test_set.tensors[3][0])
print('first test line:', test_set.tensors[1][0, :first].tolist(), 'decoded:', decoded[0])
