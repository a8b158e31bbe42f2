"""pytorch/tutorials intermediate_source/seq2seq_translation_tutorial.py, written small for
the xpnn tests: the encoder and the attention decoder learn a toy copy task (each sentence
of 3 to 5 words, reversed) instead of translating French.

EncoderRNN (Embedding, dropout, GRU with batch_first), AttnDecoderRNN with Bahdanau attention
(additive scores, softmax, bmm with the encoder outputs), teacher forcing during training,
``topk`` decoding at evaluation; NLLLoss on log_softmax outputs, two Adam optimizers, and a
TensorDataset served by a DataLoader with a RandomSampler.

    python tests/pytorch_programs/tutorials/seq2seq_attention.py
"""
import random
import time

import numpy as np
import torch
import torch.nn as nn
from torch import optim
import torch.nn.functional as F
from torch.utils.data import TensorDataset, DataLoader, RandomSampler

random.seed(0)
torch.manual_seed(0)

SOS_token = 0
EOS_token = 1
MAX_LENGTH = 6
n_words = 12          # SOS, EOS and the ten "words" 2..11
hidden_size = 32
batch_size = 16


def make_pairs(n):
    pairs = []
    for _ in range(n):
        length = random.randint(3, MAX_LENGTH - 1)
        sentence = [random.randint(2, n_words - 1) for _ in range(length)]
        pairs.append((sentence, sentence[::-1]))
    return pairs


def get_dataloader(pairs):
    n = len(pairs)
    input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    for idx, (inp, tgt) in enumerate(pairs):
        inp = inp + [EOS_token]
        tgt = tgt + [EOS_token]
        input_ids[idx, :len(inp)] = inp
        target_ids[idx, :len(tgt)] = tgt
    train_data = TensorDataset(torch.LongTensor(input_ids), torch.LongTensor(target_ids))
    train_sampler = RandomSampler(train_data)
    return DataLoader(train_data, sampler=train_sampler, batch_size=batch_size)


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super(BahdanauAttention, self).__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super(AttnDecoderRNN, self).__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []

        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)

            if target_tensor is not None:
                # Teacher forcing: feed the target as the next input
                decoder_input = target_tensor[:, i].unsqueeze(1)
            else:
                # Without teacher forcing: use its own predictions as the next input
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()

        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


def train_epoch(dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion):
    total_loss = 0
    for data in dataloader:
        input_tensor, target_tensor = data

        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()

        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)

        loss = criterion(
            decoder_outputs.view(-1, decoder_outputs.size(-1)),
            target_tensor.view(-1)
        )
        loss.backward()

        encoder_optimizer.step()
        decoder_optimizer.step()

        total_loss += loss.item()
    return total_loss / len(dataloader)


def train(train_dataloader, encoder, decoder, n_epochs, learning_rate=0.01):
    start = time.time()
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()
    for epoch in range(1, n_epochs + 1):
        loss = train_epoch(train_dataloader, encoder, decoder, encoder_optimizer,
                           decoder_optimizer, criterion)
        print('epoch %d (%d%%) loss %.4f' % (epoch, epoch / n_epochs * 100, loss))
    return time.time() - start


def evaluate(encoder, decoder, sentence):
    with torch.no_grad():
        input_tensor = torch.tensor(sentence + [EOS_token], dtype=torch.long).view(1, -1)
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs,
                                                                encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
        decoded_words = []
        for idx in decoded_ids:
            if idx.item() == EOS_token:
                decoded_words.append('<EOS>')
                break
            decoded_words.append(str(idx.item()))
    return decoded_words, decoder_attn


pairs = make_pairs(256)
train_dataloader = get_dataloader(pairs)
encoder = EncoderRNN(n_words, hidden_size)
decoder = AttnDecoderRNN(hidden_size, n_words)
train(train_dataloader, encoder, decoder, 6)

encoder.eval()
decoder.eval()
correct = 0
for sentence, target in pairs[:32]:
    words, attn = evaluate(encoder, decoder, sentence)
    correct += words[:-1] == [str(w) for w in target]
print('attention weights of the last sentence:', tuple(attn.shape))
print('reversed exactly: %d of 32' % correct)
for sentence, target in pairs[:3]:
    words, _ = evaluate(encoder, decoder, sentence)
    print('>', ' '.join(map(str, sentence)))
    print('=', ' '.join(map(str, target)))
    print('<', ' '.join(words))
