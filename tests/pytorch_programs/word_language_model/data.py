"""The corpus of the word language model (pytorch/examples word_language_model/data.py):
a word <-> index dictionary and the three splits as 1-D int64 tensors of word indices."""
import os
from io import open
import torch


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus(object):
    def __init__(self, path):
        self.dictionary = Dictionary()
        self.train = self.tokenize(os.path.join(path, 'train.txt'))
        self.valid = self.tokenize(os.path.join(path, 'valid.txt'))
        self.test = self.tokenize(os.path.join(path, 'test.txt'))

    def tokenize(self, path):
        """The words of a text file, each line ended by <eos>, as one index tensor."""
        assert os.path.exists(path)
        # first pass: grow the dictionary
        with open(path, 'r', encoding="utf8") as f:
            for line in f:
                for word in line.split() + ['<eos>']:
                    self.dictionary.add_word(word)

        # second pass: one tensor of indices per line, joined
        with open(path, 'r', encoding="utf8") as f:
            per_line = []
            for line in f:
                ids = [self.dictionary.word2idx[word] for word in line.split() + ['<eos>']]
                per_line.append(torch.tensor(ids).type(torch.int64))
            ids = torch.cat(per_line)

        return ids
