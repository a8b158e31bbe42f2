"""Prototypical networks for few-shot classification (Snell, Swersky and Zemel, 2017),
written small for the xpnn tests after the paper's episodic training, on made-up data: 40
synthetic classes, each a random 16x16 "glyph" (smoothed noise) seen under pixel noise and a
random shift of brightness; 28 classes train, 12 are held out.

Every episode samples n-way k-shot tasks: the classes by ``torch.randperm``, the support and
query examples of each class by ``torch.multinomial`` without replacement. A small CNN
embeds images; a class prototype is the mean of its support embeddings, and the logits of a
query are ``-torch.cdist(query, prototypes) ** 2`` under ``F.cross_entropy``. Adam with a
StepLR; accuracy of 5-way 1-shot and 5-way 5-shot episodes on the held-out classes, before
and after training, and the model saved through its ``state_dict``.

    python tests/pytorch_programs/tutorials/protonet.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

n_classes, n_per_class, size = 40, 20, 16
base = F.avg_pool2d(torch.randn(n_classes, 1, size, size), 3, stride=1, padding=1) * 2.0
images = base.repeat_interleave(n_per_class, dim=0)
images = images + 1.5 * torch.randn_like(images) + 0.5 * torch.randn(len(images), 1, 1, 1)
labels = torch.arange(n_classes).repeat_interleave(n_per_class)
train_classes = torch.arange(28)
test_classes = torch.arange(28, 40)


def conv_block(n_in, n_out):
    return nn.Sequential(nn.Conv2d(n_in, n_out, 3, padding=1), nn.BatchNorm2d(n_out),
                         nn.ReLU(), nn.MaxPool2d(2))


class ProtoNet(nn.Module):
    def __init__(self, hidden=16, out=32):
        super().__init__()
        self.encoder = nn.Sequential(conv_block(1, hidden), conv_block(hidden, hidden),
                                     conv_block(hidden, out), nn.Flatten())

    def forward(self, x):
        return self.encoder(x)


def sample_episode(classes, n_way, k_shot, n_query):
    chosen = classes[torch.randperm(len(classes))[:n_way]]
    support, query = [], []
    for c in chosen.tolist():
        idx = (labels == c).nonzero().squeeze(1)
        pick = idx[torch.multinomial(torch.ones(len(idx)), k_shot + n_query)]
        support.append(images[pick[:k_shot]])
        query.append(images[pick[k_shot:]])
    support = torch.stack(support)                        # n_way, k_shot, 1, H, W
    query = torch.cat(query)                              # n_way * n_query, 1, H, W
    target = torch.arange(n_way).repeat_interleave(n_query)
    return support.to(device), query.to(device), target.to(device)


def episode_loss(model, support, query, target):
    n_way, k_shot = support.shape[:2]
    emb = model(torch.cat([support.flatten(0, 1), query]))
    prototypes = emb[:n_way * k_shot].view(n_way, k_shot, -1).mean(dim=1)
    logits = -torch.cdist(emb[n_way * k_shot:], prototypes) ** 2
    loss = F.cross_entropy(logits, target)
    acc = (logits.argmax(dim=1) == target).float().mean()
    return loss, acc


def evaluate(model, k_shot, episodes=15):
    model.eval()
    accs = []
    with torch.no_grad():
        for _ in range(episodes):
            _, acc = episode_loss(model, *sample_episode(test_classes, 5, k_shot, 5))
            accs.append(acc.item())
    model.train()
    return sum(accs) / len(accs)


model = ProtoNet().to(device)
print(f'parameters: {sum(p.numel() for p in model.parameters())}')
print(f'before training | 5-way 1-shot acc {evaluate(model, 1):.3f} | '
      f'5-way 5-shot acc {evaluate(model, 5):.3f}')

optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
total_loss, total_acc = 0.0, 0.0
for episode in range(1, 61):
    support, query, target = sample_episode(train_classes, 6, 5, 5)
    loss, acc = episode_loss(model, support, query, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    total_loss += loss.item()
    total_acc += acc.item()
    if episode % 15 == 0:
        print(f'episode {episode:3d} | train loss {total_loss / 15:.4f} | '
              f'train acc {total_acc / 15:.3f} | lr {scheduler.get_last_lr()[0]:.5f}')
        total_loss, total_acc = 0.0, 0.0

print(f'after training | 5-way 1-shot acc {evaluate(model, 1):.3f} | '
      f'5-way 5-shot acc {evaluate(model, 5):.3f}')
copy = ProtoNet().to(device)
copy.load_state_dict(model.state_dict())
copy.eval()
with torch.no_grad():
    support, query, target = sample_episode(test_classes, 5, 5, 5)
    loss, acc = episode_loss(copy, support, query, target)
print(f'restored copy: held-out episode loss {loss.item():.4f}, accuracy {acc.item():.3f}')
