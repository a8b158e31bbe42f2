"""Show and tell image captioning, written small for the xpnn tests after the PyTorch
captioning tutorials (Vinyals et al. 2015), on 320 made-up 3x12x12 images of a shape (bar,
square, cross) in a colour (red, green, blue), small or big, each described by a caption
("<bos> a big red cross <eos>", "<bos> small blue bar <eos>", ...) padded with <pad> to 7 tokens.

A CNN encoder (Conv2d, ReLU, MaxPool2d, Flatten, Linear) gives the image
feature that sets the initial state of an ``nn.LSTMCell`` decoder (``init_h``/``init_c``
Linear layers) and is fed beside each word's embedding (``torch.cat``); the decoder is trained with teacher forcing, one ``LSTMCell`` step per word
in a Python loop, under ``F.cross_entropy(ignore_index=PAD)`` so padding carries no loss,
with dropout on the word embeddings and ``nn.utils.clip_grad_value_``. Greedy decoding
feeds back ``torch.argmax`` of each step and stops once every caption has emitted <eos>;
token accuracy and exact-caption accuracy on held-out images.

    python tests/pytorch_programs/tutorials/captioning.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

SHAPES = ['bar', 'square', 'cross']
COLOURS = ['red', 'green', 'blue']
vocab = ['<pad>', '<bos>', '<eos>', 'a', 'small', 'big'] + COLOURS + SHAPES
PAD, BOS, EOS = 0, 1, 2
word_to_ix = {w: i for i, w in enumerate(vocab)}
MAX_LEN = 7


def draw(shape, big):
    img = torch.zeros(12, 12)
    lo, hi = (1, 11) if big else (3, 9)
    if shape == 'bar':
        img[5:7, lo:hi] = 1
    elif shape == 'square':
        img[lo:hi, lo] = img[lo:hi, hi - 1] = img[lo, lo:hi] = img[hi - 1, lo:hi] = 1
    else:
        img[5:7, lo:hi] = 1
        img[lo:hi, 5:7] = 1
    return img


def make_data(n, offset):
    images, captions = [], []
    for i in range(offset, offset + n):
        shape, colour, big = SHAPES[i % 3], COLOURS[(i // 3) % 3], (i // 9) % 2 == 1
        img = torch.zeros(3, 12, 12)
        img[COLOURS.index(colour)] = draw(shape, big)
        images.append(img)
        words = ['a', 'big', colour, shape] if big else ['small', colour, shape]
        ids = [BOS] + [word_to_ix[w] for w in words] + [EOS]
        captions.append(ids + [PAD] * (MAX_LEN - len(ids)))
    return torch.stack(images) + 0.25 * torch.randn(n, 3, 12, 12), torch.tensor(captions)


class EncoderCNN(nn.Module):
    def __init__(self, feature_size):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 3 * 3, feature_size))

    def forward(self, images):
        return self.net(images)


class DecoderLSTM(nn.Module):
    def __init__(self, feature_size, embed_size, hidden_size, vocab_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.dropout = nn.Dropout(0.1)
        self.init_h = nn.Linear(feature_size, hidden_size)
        self.init_c = nn.Linear(feature_size, hidden_size)
        self.lstm_cell = nn.LSTMCell(embed_size + feature_size, hidden_size)
        self.fc = nn.Linear(hidden_size, vocab_size)

    def init_state(self, features):
        return torch.tanh(self.init_h(features)), torch.tanh(self.init_c(features))

    def forward(self, features, captions):
        h, c = self.init_state(features)
        embeddings = self.dropout(self.embed(captions))
        outputs = []
        for t in range(captions.size(1) - 1):
            h, c = self.lstm_cell(torch.cat([embeddings[:, t], features], dim=1), (h, c))
            outputs.append(self.fc(h))
        return torch.stack(outputs, dim=1)

    def greedy(self, features, max_len=MAX_LEN - 1):
        h, c = self.init_state(features)
        word = torch.full((features.size(0),), BOS, dtype=torch.long, device=features.device)
        finished = torch.zeros(features.size(0), dtype=torch.bool, device=features.device)
        words = []
        for _ in range(max_len):
            h, c = self.lstm_cell(torch.cat([self.embed(word), features], dim=1), (h, c))
            word = torch.argmax(self.fc(h), dim=1)
            word = word.masked_fill(finished, PAD)
            words.append(word)
            finished = finished | (word == EOS)
            if finished.all():
                break
        return torch.stack(words, dim=1)


class CaptionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = EncoderCNN(32)
        self.decoder = DecoderLSTM(32, 16, 48, len(vocab))

    def forward(self, images, captions):
        return self.decoder(self.encoder(images), captions)


def decode(ids):
    out = []
    for i in ids:
        if i == EOS:
            break
        out.append(vocab[i])
    return ' '.join(out)


train_images, train_captions = make_data(256, 0)
test_images, test_captions = make_data(64, 256)
loader = DataLoader(TensorDataset(train_images, train_captions), batch_size=32, shuffle=True)

model = CaptionModel().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

for epoch in range(1, 9):
    model.train()
    total = 0.0
    for images, captions in loader:
        images, captions = images.to(device), captions.to(device)
        logits = model(images, captions)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), captions[:, 1:].reshape(-1),
                               ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
        optimizer.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        logits = model(test_images, test_captions)
        targets = test_captions[:, 1:]
        test_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1),
                                    ignore_index=PAD).item()
        mask = targets != PAD
        token_acc = ((logits.argmax(-1) == targets) & mask).sum().item() / mask.sum().item()
    print(f'epoch {epoch} | train loss {total / len(loader):.4f} | test loss {test_loss:.4f} '
          f'| token accuracy {token_acc:.3f}')

with torch.no_grad():
    generated = model.decoder.greedy(model.encoder(test_images))
print('generated:', tuple(generated.shape))
exact = 0
for i in range(len(test_images)):
    exact += decode(generated[i].tolist()) == decode(test_captions[i, 1:].tolist())
print(f'exact captions: {exact}/{len(test_images)}')
for i in range(3):
    print(f'truth: {decode(test_captions[i, 1:].tolist()):24s} | '
          f'greedy: {decode(generated[i].tolist())}')
