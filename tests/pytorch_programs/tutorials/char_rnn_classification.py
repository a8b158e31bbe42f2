"""pytorch/tutorials intermediate_source/char_rnn_classification_tutorial.py (the
from-scratch RNN), written small for the xpnn tests: the names are made up from four
"languages", each favouring its own letters, instead of read from data/names.

One-hot letter tensors, an RNN cell of Linear layers (i2h, h2h, h2o) with LogSoftmax,
NLLLoss, the update written by hand (``p.data.add_(p.grad.data, alpha=-learning_rate)``),
``topk`` to read the guess, and a confusion matrix filled with ``confusion[i][j] += 1`` and
normalised row by row.

    python tests/pytorch_programs/tutorials/char_rnn_classification.py
"""
import math
import random
import string
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

random.seed(1)
torch.manual_seed(1)

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)

# the made-up languages: each draws most of its letters from its own set
category_lines = {}
all_categories = []
for lang, letters in [('Vowelish', 'aeiouy'), ('Consonantal', 'bcdfgkrst'),
                      ('Liquid', 'lmnrwv'), ('Hissing', 'szxhcj')]:
    names = []
    for _ in range(60):
        length = random.randint(3, 7)
        name = ''.join(random.choice(letters) if random.random() < 0.8
                       else random.choice(string.ascii_lowercase) for _ in range(length))
        names.append(name.capitalize())
    category_lines[lang] = names
    all_categories.append(lang)
n_categories = len(all_categories)


def letterToIndex(letter):
    """Find letter index from all_letters, e.g. "a" = 0."""
    return all_letters.find(letter)


def letterToTensor(letter):
    """Turn a letter into a <1 x n_letters> Tensor."""
    tensor = torch.zeros(1, n_letters)
    tensor[0][letterToIndex(letter)] = 1
    return tensor


def lineToTensor(line):
    """Turn a line into a <line_length x 1 x n_letters>, an array of one-hot vectors."""
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


print(letterToTensor('J'))
print(lineToTensor('Jones').size())


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        hidden = F.tanh(self.i2h(input) + self.h2h(hidden))
        output = self.h2o(hidden)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


n_hidden = 64
rnn = RNN(n_letters, n_hidden, n_categories)


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


def randomChoice(l):
    return l[random.randint(0, len(l) - 1)]


def randomTrainingExample():
    category = randomChoice(all_categories)
    line = randomChoice(category_lines[category])
    category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
    line_tensor = lineToTensor(line)
    return category, line, category_tensor, line_tensor


criterion = nn.NLLLoss()
learning_rate = 0.005


def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    # Add parameters' gradients to their values, multiplied by learning rate
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


n_iters = 1000
print_every = 100
current_loss = 0
all_losses = []


def timeSince(since):
    s = time.time() - since
    m = math.floor(s / 60)
    s -= m * 60
    return '%dm %ds' % (m, s)


start = time.time()
for iter in range(1, n_iters + 1):
    category, line, category_tensor, line_tensor = randomTrainingExample()
    output, loss = train(category_tensor, line_tensor)
    current_loss += loss
    if iter % print_every == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = '✓' if guess == category else '✗ (%s)' % category
        print('%d %d%% (%s) %.4f %s / %s %s' % (iter, iter / n_iters * 100, timeSince(start),
                                                loss, line, guess, correct))
        all_losses.append(current_loss / print_every)
        print('average loss: %.4f' % (current_loss / print_every))
        current_loss = 0

# Keep track of correct guesses in a confusion matrix
confusion = torch.zeros(n_categories, n_categories)
n_confusion = 200


def evaluate(line_tensor):
    hidden = rnn.initHidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    return output


# Go through a bunch of examples and record which are correctly guessed
with torch.no_grad():
    for i in range(n_confusion):
        category, line, category_tensor, line_tensor = randomTrainingExample()
        output = evaluate(line_tensor)
        guess, guess_i = categoryFromOutput(output)
        category_i = all_categories.index(category)
        confusion[category_i][guess_i] += 1

print('examples counted:', confusion.sum().item())
# Normalize by dividing every row by its sum
for i in range(n_categories):
    confusion[i] = confusion[i] / confusion[i].sum()
print(confusion)
print('mean accuracy: %.3f' % confusion.diag().mean().item())


def predict(input_line, n_predictions=2):
    print('\n> %s' % input_line)
    with torch.no_grad():
        output = evaluate(lineToTensor(input_line))
        topv, topi = output.topk(n_predictions, 1, True)
        for i in range(n_predictions):
            value = topv[0][i].item()
            category_index = topi[0][i].item()
            print('(%.2f) %s' % (value, all_categories[category_index]))


predict('Aiou')
predict('Szasz')
