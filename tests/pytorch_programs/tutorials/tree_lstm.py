"""A child-sum Tree-LSTM (Tai, Socher and Manning, 2015, "Improved Semantic Representations
From Tree-Structured Long Short-Term Memory Networks"), written for the xpnn tests after the
paper's equations, on made-up sentiment-like trees.

Trees are built in Python by recursion: each node has zero to three children, leaves carry a
word id. A word's polarity is fixed (positive, negative, neutral, or a negator that flips
what it is joined to); the root's label is the sign of the composed polarity, so the label
depends on the tree's structure. The cell is evaluated recursively: the children's hidden
and cell states are collected by ``torch.stack``, their hidden sum by ``sum(dim=0)``, one
forget gate per child from per-node ``nn.Linear``s (``W_f`` on the input, ``U_f`` on each
child's hidden state, broadcast), and the input, output and update gates by ``torch.chunk``
of a shared ``nn.Linear``. Leaves read an ``nn.Embedding``; inner nodes read a zero input.
Trees are processed one at a time; each loss is divided by 8 and backpropagated on its own,
and Adagrad steps (with ``optimizer.zero_grad()``) every 8 trees: gradient accumulation.

    python tests/pytorch_programs/tutorials/tree_lstm.py
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)

# word ids: 0-4 positive, 5-9 negative, 10-14 neutral, 15-16 negators
n_words = 17
POLARITY = [1] * 5 + [-1] * 5 + [0] * 5 + [None] * 2


class Node:
    def __init__(self, word=None, children=()):
        self.word = word
        self.children = list(children)


def random_tree(depth=0):
    if depth >= 2 or (depth > 0 and rng.random() < 0.3):
        return Node(word=int(rng.integers(0, 15)))
    n_children = int(rng.integers(2, 4))
    children = [random_tree(depth + 1) for _ in range(n_children)]
    if rng.random() < 0.3:
        children.insert(0, Node(word=int(rng.integers(15, 17))))
    return Node(children=children)


def polarity(node):
    if node.word is not None:
        return POLARITY[node.word] or 0
    values = [polarity(c) for c in node.children]
    negate = any(c.word is not None and POLARITY[c.word] is None for c in node.children)
    total = sum(values)
    return -total if negate else total


def make_trees(count):
    trees, labels = [], []
    while len(trees) < count:
        tree = random_tree()
        p = polarity(tree)
        if p != 0:
            trees.append(tree)
            labels.append(int(p > 0))
    return trees, torch.tensor(labels)


def size(node):
    return 1 + sum(size(c) for c in node.children)


class ChildSumTreeLSTM(nn.Module):
    def __init__(self, embed=16, hidden=32, classes=2):
        super().__init__()
        self.hidden = hidden
        self.embedding = nn.Embedding(n_words, embed)
        self.W_iou = nn.Linear(embed, 3 * hidden)
        self.U_iou = nn.Linear(hidden, 3 * hidden, bias=False)
        self.W_f = nn.Linear(embed, hidden)
        self.U_f = nn.Linear(hidden, hidden, bias=False)
        self.classifier = nn.Linear(hidden, classes)
        self.embed_dim = embed

    def node_forward(self, x, child_h, child_c):
        h_sum = child_h.sum(dim=0)                                   # (hidden,)
        i, o, u = torch.chunk(self.W_iou(x) + self.U_iou(h_sum), 3, dim=-1)
        i, o, u = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(u)
        f = torch.sigmoid(self.W_f(x).unsqueeze(0) + self.U_f(child_h))   # one per child
        c = i * u + (f * child_c).sum(dim=0)
        h = o * torch.tanh(c)
        return h, c

    def encode(self, node):
        if node.word is not None:
            x = self.embedding(torch.tensor(node.word))
            zeros = torch.zeros(1, self.hidden)
            return self.node_forward(x, zeros, zeros)
        states = [self.encode(child) for child in node.children]
        child_h = torch.stack([h for h, _ in states])
        child_c = torch.stack([c for _, c in states])
        return self.node_forward(torch.zeros(self.embed_dim), child_h, child_c)

    def forward(self, tree):
        h, _ = self.encode(tree)
        return self.classifier(h)


train_trees, train_labels = make_trees(160)
test_trees, test_labels = make_trees(48)
print(f"{len(train_trees)} training trees of {sum(size(t) for t in train_trees)} nodes, "
      f"{train_labels.float().mean().item():.3f} positive")

model = ChildSumTreeLSTM()
optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1, weight_decay=1e-4)
accumulate = 8


def evaluate():
    model.eval()
    with torch.no_grad():
        logits = torch.stack([model(t) for t in test_trees])
        loss = F.cross_entropy(logits, test_labels).item()
        correct = (logits.argmax(dim=1) == test_labels).sum().item()
    model.train()
    return loss, correct


loss, correct = evaluate()
print(f"untrained | test loss {loss:.4f} | test accuracy {correct}/{len(test_trees)}")
for epoch in range(1, 7):
    order = rng.permutation(len(train_trees))
    total = 0.0
    optimizer.zero_grad()
    for k, index in enumerate(order, 1):
        logits = model(train_trees[index])
        loss = F.cross_entropy(logits.unsqueeze(0), train_labels[index:index + 1])
        (loss / accumulate).backward()
        total += loss.item()
        if k % accumulate == 0:
            optimizer.step()
            optimizer.zero_grad()
    loss, correct = evaluate()
    print(f"epoch {epoch} | train loss {total / len(order):.4f} | test loss {loss:.4f} | "
          f"test accuracy {correct}/{len(test_trees)}")
print("grads cleared after the last step:", model.U_f.weight.grad is None)
