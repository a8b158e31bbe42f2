"""Matrix factorization for rating prediction, written for the xpnn tests: 1500 made-up
ratings (1 to 5) of 40 items by 60 users, from hidden 3-dimensional tastes plus user and
item biases and noise.

A map-style Dataset of (user, item, rating) dicts, batched by a collate_fn into tensors and
cut by random_split into training, validation and test sets; user and item nn.Embedding
factors plus per-user and per-item bias embeddings and a global bias. Adam with weight
decay under ReduceLROnPlateau on the validation RMSE, and early stopping that keeps the best
epoch's ``copy.deepcopy(model.state_dict())`` and loads it back before the test.

    python tests/pytorch_programs/tutorials/recommender.py
"""
import copy
import random

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, random_split

torch.manual_seed(2)
rng = random.Random(2)

n_users, n_items, n_ratings = 60, 40, 1500
user_taste = torch.randn(n_users, 3)
item_taste = torch.randn(n_items, 3)
user_offset = 0.5 * torch.randn(n_users)
item_offset = 0.5 * torch.randn(n_items)
pairs = rng.sample([(u, i) for u in range(n_users) for i in range(n_items)], n_ratings)
users = torch.tensor([u for u, _ in pairs])
items = torch.tensor([i for _, i in pairs])
scores = 3.0 + 0.6 * (user_taste[users] * item_taste[items]).sum(dim=1) \
    + user_offset[users] + item_offset[items] + 0.3 * torch.randn(n_ratings)
ratings = scores.clamp(1.0, 5.0)


class RatingsDataset(Dataset):
    def __init__(self, users, items, ratings):
        self.users, self.items, self.ratings = users.tolist(), items.tolist(), ratings.tolist()

    def __len__(self):
        return len(self.ratings)

    def __getitem__(self, idx):
        return {'user': self.users[idx], 'item': self.items[idx], 'rating': self.ratings[idx]}


def collate(batch):
    return (torch.tensor([b['user'] for b in batch]),
            torch.tensor([b['item'] for b in batch]),
            torch.tensor([b['rating'] for b in batch], dtype=torch.float32))


dataset = RatingsDataset(users, items, ratings)
train_set, val_set, test_set = random_split(dataset, [0.8, 0.1, 0.1],
                                            generator=torch.Generator().manual_seed(0))
print(f'ratings: {len(dataset)} (train {len(train_set)}, val {len(val_set)}, '
      f'test {len(test_set)}), mean {ratings.mean().item():.3f}')
train_loader = DataLoader(train_set, batch_size=64, shuffle=True, collate_fn=collate)
val_loader = DataLoader(val_set, batch_size=256, collate_fn=collate)
test_loader = DataLoader(test_set, batch_size=256, collate_fn=collate)


class MatrixFactorization(nn.Module):
    def __init__(self, n_users, n_items, dim):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, dim)
        self.item_factors = nn.Embedding(n_items, dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.global_bias = nn.Parameter(torch.tensor(3.0))
        nn.init.normal_(self.user_factors.weight, std=0.1)
        nn.init.normal_(self.item_factors.weight, std=0.1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, user, item):
        dot = (self.user_factors(user) * self.item_factors(item)).sum(dim=1)
        return dot + self.user_bias(user).squeeze(1) + self.item_bias(item).squeeze(1) \
            + self.global_bias


def rmse(model, loader):
    model.eval()
    se, n = 0.0, 0
    with torch.no_grad():
        for u, i, r in loader:
            se += ((model(u, i) - r) ** 2).sum().item()
            n += len(r)
    return (se / n) ** 0.5


model = MatrixFactorization(n_users, n_items, dim=8)
optimizer = torch.optim.Adam(model.parameters(), lr=0.03, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.5,
                                                       patience=1)
loss_fn = nn.MSELoss()
best_rmse, best_state, best_epoch, patience, bad_epochs = float('inf'), None, 0, 4, 0
print(f'validation RMSE before training {rmse(model, val_loader):.4f}')
for epoch in range(1, 31):
    model.train()
    total = 0.0
    for u, i, r in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(u, i), r)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(r)
    val_rmse = rmse(model, val_loader)
    scheduler.step(val_rmse)
    print(f'epoch {epoch:2d} | train mse {total / len(train_set):.4f} | val rmse {val_rmse:.4f} '
          f'| lr {optimizer.param_groups[0]["lr"]:.5f}')
    if val_rmse < best_rmse:
        best_rmse, best_epoch, bad_epochs = val_rmse, epoch, 0
        best_state = copy.deepcopy(model.state_dict())
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            print(f'early stop after epoch {epoch}')
            break

model.load_state_dict(best_state)
print(f'best epoch {best_epoch}: val rmse {rmse(model, val_loader):.4f}, '
      f'test rmse {rmse(model, test_loader):.4f}')
print('state_dict:', {k: tuple(v.shape) for k, v in best_state.items()})
with torch.no_grad():
    all_items = torch.arange(n_items)
    predicted = model(torch.zeros(n_items, dtype=torch.long), all_items)
    top = torch.topk(predicted, k=3)
print(f'top items for user 0: {top.indices.tolist()} '
      f'(predicted {[round(v, 2) for v in top.values.tolist()]})')
