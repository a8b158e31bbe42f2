"""CLIP-style contrastive pretraining, written small for the xpnn tests after OpenAI's CLIP
(its model.py and the paper's pseudo-code), on 384 made-up 3x12x12 images of a shape
(horizontal bar, vertical bar, square, cross) in a colour (red, green, blue), each paired
with a caption made of words ("a big red cross", "a photo of a small blue square", ...).

The image encoder is a small CNN (Conv2d, ReLU, MaxPool2d, AdaptiveAvgPool2d, Linear), the
text encoder an ``nn.Embedding(padding_idx=0)`` mean-pooled over the caption's words by a
padding mask, then a Linear; both embeddings are L2-normalised by ``F.normalize``. A learned
temperature ``logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))`` enters as
``logit_scale.exp().clamp(max=100)``, and the loss is the symmetric ``F.cross_entropy`` of
the image-to-text and text-to-image logits against ``torch.arange`` labels. Zero-shot
classification at the end: the test images against the prompts "a photo of a {shape}".

    python tests/pytorch_programs/tutorials/clip.py
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

SHAPES = ['hbar', 'vbar', 'square', 'cross']
COLOURS = ['red', 'green', 'blue']
SIZES = ['small', 'big']
vocab = ['<pad>', 'a', 'photo', 'of', 'the'] + SHAPES + COLOURS + SIZES
word_to_ix = {w: i for i, w in enumerate(vocab)}
MAX_WORDS = 7
TEMPLATES = ['a {size} {colour} {shape}', 'a photo of a {size} {colour} {shape}',
             'the {colour} {shape}', 'a photo of the {shape}', '{colour} {shape}']


def draw(shape, size):
    """A 12x12 mask of the shape; a big one spans more pixels."""
    img = torch.zeros(12, 12)
    lo, hi = (3, 9) if size == 'small' else (1, 11)
    if shape == 'hbar':
        img[5:7, lo:hi] = 1
    elif shape == 'vbar':
        img[lo:hi, 5:7] = 1
    elif shape == 'square':
        img[lo:hi, lo] = img[lo:hi, hi - 1] = img[lo, lo:hi] = img[hi - 1, lo:hi] = 1
    else:
        img[5:7, lo:hi] = 1
        img[lo:hi, 5:7] = 1
    return img


def tokenize(text):
    ids = [word_to_ix[w] for w in text.split()]
    return ids + [0] * (MAX_WORDS - len(ids))


def make_data(n, offset):
    images, captions, labels = [], [], []
    for i in range(offset, offset + n):
        shape, colour = SHAPES[i % 4], COLOURS[(i // 4) % 3]
        size = SIZES[(i // 12) % 2]
        mask = draw(shape, size)
        img = torch.zeros(3, 12, 12)
        img[COLOURS.index(colour)] = mask
        images.append(img)
        text = TEMPLATES[(i // 24) % len(TEMPLATES)].format(size=size, colour=colour,
                                                            shape=shape)
        captions.append(tokenize(text))
        labels.append(SHAPES.index(shape))
    images = torch.stack(images) + 0.3 * torch.randn(n, 3, 12, 12)
    return images, torch.tensor(captions), torch.tensor(labels)


class ImageEncoder(nn.Module):
    def __init__(self, embed_dim):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
            nn.Flatten())
        self.proj = nn.Linear(32, embed_dim)

    def forward(self, x):
        return self.proj(self.features(x))


class TextEncoder(nn.Module):
    def __init__(self, vocab_size, width, embed_dim):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, width, padding_idx=0)
        self.proj = nn.Linear(width, embed_dim)

    def forward(self, tokens):
        mask = (tokens != 0).float()
        x = self.token_embedding(tokens) * mask.unsqueeze(-1)
        x = x.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1)
        return self.proj(torch.tanh(x))


class CLIP(nn.Module):
    def __init__(self, embed_dim=24):
        super().__init__()
        self.visual = ImageEncoder(embed_dim)
        self.text = TextEncoder(len(vocab), 32, embed_dim)
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))

    def encode_image(self, image):
        return F.normalize(self.visual(image), dim=-1)

    def encode_text(self, tokens):
        return F.normalize(self.text(tokens), dim=-1)

    def forward(self, image, tokens):
        image_features = self.encode_image(image)
        text_features = self.encode_text(tokens)
        logit_scale = self.logit_scale.exp().clamp(max=100)
        logits_per_image = logit_scale * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


train_images, train_captions, train_labels = make_data(288, 0)
test_images, test_captions, test_labels = make_data(96, 288)
loader = DataLoader(TensorDataset(train_images, train_captions), batch_size=32, shuffle=True)

model = CLIP().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
print(f'parameters: {sum(p.numel() for p in model.parameters())}')


def clip_loss(logits_per_image, logits_per_text):
    labels = torch.arange(logits_per_image.shape[0], device=device)
    return (F.cross_entropy(logits_per_image, labels) +
            F.cross_entropy(logits_per_text, labels)) / 2


for epoch in range(1, 9):
    model.train()
    total, count = 0.0, 0
    for images, captions in loader:
        images, captions = images.to(device), captions.to(device)
        logits_per_image, logits_per_text = model(images, captions)
        loss = clip_loss(logits_per_image, logits_per_text)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(images)
        count += len(images)
    model.eval()
    with torch.no_grad():
        test_loss = clip_loss(*model(test_images[:32], test_captions[:32])).item()
    print(f'epoch {epoch} | train loss {total / count:.4f} | test loss {test_loss:.4f} '
          f'| logit scale {model.logit_scale.exp().item():.3f}')

prompts = torch.tensor([tokenize(f'a photo of a {s}') for s in SHAPES], device=device)
with torch.no_grad():
    image_features = model.encode_image(test_images.to(device))
    text_features = model.encode_text(prompts)
    similarity = (100.0 * image_features @ text_features.T).softmax(dim=-1)
    predictions = similarity.argmax(dim=-1)
    correct = (predictions == test_labels).sum().item()
    top_probs, top_labels = similarity[0].topk(2)
print(f'zero-shot accuracy: {correct}/{len(test_labels)} ({100.0 * correct / len(test_labels):.1f}%)')
print(f'first test image: {SHAPES[test_labels[0].item()]} -> '
      f'{SHAPES[top_labels[0].item()]} ({top_probs[0].item():.3f}), '
      f'{SHAPES[top_labels[1].item()]} ({top_probs[1].item():.3f})')
