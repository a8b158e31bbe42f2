"""pytorch/tutorials beginner_source/text_sentiment_ngrams_tutorial.py, written small for
the xpnn tests: four topics of made-up sentences instead of AG_NEWS, a whitespace tokenizer
and a vocabulary built here instead of torchtext's.

``nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)`` over the concatenated token ids of
a batch with offsets from ``torch.tensor(offsets[:-1]).cumsum(dim=0)``, a Linear head,
CrossEntropyLoss, SGD with StepLR (stepped when the validation accuracy stops rising) and
``clip_grad_norm_``; a DataLoader over a list of (label, text) pairs with a collate_fn.

    python tests/pytorch_programs/tutorials/text_classification.py
"""
import random
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

random.seed(7)
torch.manual_seed(7)

TOPICS = {
    1: "goal match team league coach player season win score striker cup",
    2: "market stocks shares profit bank trade price investors growth deal",
    3: "software computer chip internet phone data users network code online",
    4: "election minister vote government policy party leaders talks law court",
}
COMMON = "the a of to in and on for with said new after over".split()


def make_sentences(n):
    out = []
    for _ in range(n):
        label = random.randint(1, 4)
        words = TOPICS[label].split()
        text = [random.choice(words) if random.random() < 0.4 else random.choice(COMMON)
                for _ in range(random.randint(5, 14))]
        out.append((label, ' '.join(text)))
    return out


train_iter = make_sentences(480)
valid_iter = make_sentences(96)
test_iter = make_sentences(96)


def tokenizer(text):
    return text.lower().split()


vocab = {'<unk>': 0}
for _, text in train_iter:
    for token in tokenizer(text):
        vocab.setdefault(token, len(vocab))


def text_pipeline(x):
    return [vocab.get(token, 0) for token in tokenizer(x)]


def label_pipeline(x):
    return int(x) - 1


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(label_pipeline(_label))
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list, text_list, offsets


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


num_class = len(set([label for (label, text) in train_iter]))
vocab_size = len(vocab)
emsize = 16
model = TextClassificationModel(vocab_size, emsize, num_class)


def train(dataloader):
    model.train()
    total_acc, total_count = 0, 0
    log_interval = 20

    for idx, (label, text, offsets) in enumerate(dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        total_acc += (predicted_label.argmax(1) == label).sum().item()
        total_count += label.size(0)
        if idx % log_interval == 0 and idx > 0:
            print('| epoch {:3d} | {:5d}/{:5d} batches '
                  '| accuracy {:8.3f} | loss {:8.4f}'.format(epoch, idx, len(dataloader),
                                                            total_acc / total_count,
                                                            loss.item()))
            total_acc, total_count = 0, 0


def evaluate(dataloader):
    model.eval()
    total_acc, total_count, total_loss = 0, 0, 0.0

    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            total_loss += loss.item() * label.size(0)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count, total_loss / total_count


# Hyperparameters
EPOCHS = 5
LR = 5
BATCH_SIZE = 8

criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LR)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
total_accu = None

train_dataloader = DataLoader(train_iter, batch_size=BATCH_SIZE, shuffle=True,
                              collate_fn=collate_batch)
valid_dataloader = DataLoader(valid_iter, batch_size=BATCH_SIZE, shuffle=False,
                              collate_fn=collate_batch)
test_dataloader = DataLoader(test_iter, batch_size=BATCH_SIZE, shuffle=False,
                             collate_fn=collate_batch)

for epoch in range(1, EPOCHS + 1):
    epoch_start_time = time.time()
    train(train_dataloader)
    accu_val, loss_val = evaluate(valid_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    print('-' * 59)
    print('| end of epoch {:3d} | time: {:5.2f}s | '
          'valid accuracy {:8.3f} | valid loss {:8.4f} | lr {:g}'.format(
              epoch, time.time() - epoch_start_time, accu_val, loss_val,
              scheduler.get_last_lr()[0]))
    print('-' * 59)

print('Checking the results of test dataset.')
accu_test, loss_test = evaluate(test_dataloader)
print('test accuracy {:8.3f} | test loss {:8.4f}'.format(accu_test, loss_test))

ag_news_label = {1: "Sports", 2: "Business", 3: "Sci/Tec", 4: "World"}


def predict(text, text_pipeline):
    with torch.no_grad():
        text = torch.tensor(text_pipeline(text))
        output = model(text, torch.tensor([0]))
        return output.argmax(1).item() + 1


ex_text_str = "the striker said the coach and the team will win the cup"
print("This is a %s news" % ag_news_label[predict(ex_text_str, text_pipeline)])
