# "What is torch.nn really?" (pytorch.org tutorials, Jeremy Howard): the same walk, written
# here in our own words — logistic regression from bare tensors, then one torch.nn /
# torch.optim / Dataset / DataLoader piece at a time, then a CNN with Conv2d, avg_pool2d,
# nn.Sequential with a Lambda layer, AdaptiveAvgPool2d, a wrapping loader and .to(device).
# Synthetic sparse "images" with labels from a random linear teacher stand in for MNIST
# (no download); fewer of them, so the replay stays quick.
# %%
import numpy as np

source = np.random.default_rng(7)
teacher = source.standard_normal((784, 10)).astype(np.float32)


def fake_digits(count):
    ink = source.random((count, 784), dtype=np.float32)
    return np.where(source.random((count, 784)) < 0.2, ink, np.float32(0))


train_x, valid_x = fake_digits(640), fake_digits(256)
train_y = (train_x @ teacher).argmax(1).astype(np.int64)
valid_y = (valid_x @ teacher).argmax(1).astype(np.int64)
print(train_x.shape, train_y.dtype)
# %%
import torch

train_x, train_y, valid_x, valid_y = map(torch.tensor, (train_x, train_y, valid_x, valid_y))
rows, features = train_x.shape
print(train_x, train_y)
print(train_x.shape, train_y.min(), train_y.max())
# %%
import math

w = torch.randn(784, 10) / math.sqrt(784)
w.requires_grad_()
b = torch.zeros(10, requires_grad=True)


def my_log_softmax(z):
    return z - z.exp().sum(-1).log().unsqueeze(-1)


def linear_model(batch):
    return my_log_softmax(batch @ w + b)


batch_size = 64
xb, yb = train_x[:batch_size], train_y[:batch_size]
scores = linear_model(xb)
print(scores[0], scores.shape)
# %%
def negative_log_likelihood(log_probs, target):
    return -log_probs[range(target.shape[0]), target].mean()


def accuracy(out, target):
    return (torch.argmax(out, dim=1) == target).float().mean()


criterion = negative_log_likelihood
print(criterion(scores, yb), accuracy(scores, yb))
# %%
lr, epochs = 0.5, 2
batches = (rows - 1) // batch_size + 1
for _ in range(epochs):
    for k in range(batches):
        xb = train_x[k * batch_size:(k + 1) * batch_size]
        yb = train_y[k * batch_size:(k + 1) * batch_size]
        loss = criterion(linear_model(xb), yb)
        loss.backward()
        with torch.no_grad():
            w -= w.grad * lr
            b -= b.grad * lr
            w.grad.zero_()
            b.grad.zero_()
print(criterion(linear_model(xb), yb), accuracy(linear_model(xb), yb))
# %%
import torch.nn.functional as F

criterion = F.cross_entropy


def linear_model(batch):
    return batch @ w + b


print(criterion(linear_model(xb), yb), accuracy(linear_model(xb), yb))
# %%
from torch import nn


class Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
        self.b = nn.Parameter(torch.zeros(10))

    def forward(self, batch):
        return batch @ self.w + self.b


net = Logistic()
print(criterion(net(xb), yb))


def train_by_hand():
    for _ in range(epochs):
        for k in range(batches):
            xs = train_x[k * batch_size:(k + 1) * batch_size]
            ys = train_y[k * batch_size:(k + 1) * batch_size]
            criterion(net(xs), ys).backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= p.grad * lr
                net.zero_grad()


train_by_hand()
print(criterion(net(xb), yb), [name for name, _ in net.named_parameters()])
# %%
class Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, batch):
        return self.lin(batch)


net = Logistic()
print(criterion(net(xb), yb))
train_by_hand()
print(criterion(net(xb), yb))
print(net)
# %%
from torch import optim


def new_model():
    model = Logistic()
    return model, optim.SGD(model.parameters(), lr=lr)


net, opt = new_model()
print(criterion(net(xb), yb))
for _ in range(epochs):
    for k in range(batches):
        xb = train_x[k * batch_size:(k + 1) * batch_size]
        yb = train_y[k * batch_size:(k + 1) * batch_size]
        criterion(net(xb), yb).backward()
        opt.step()
        opt.zero_grad()
print(criterion(net(xb), yb))
print(opt)
# %%
from torch.utils.data import DataLoader, TensorDataset

train_set = TensorDataset(train_x, train_y)
net, opt = new_model()
for _ in range(epochs):
    for k in range(batches):
        xb, yb = train_set[k * batch_size:(k + 1) * batch_size]
        criterion(net(xb), yb).backward()
        opt.step()
        opt.zero_grad()
print(criterion(net(xb), yb), len(train_set))
# %%
net, opt = new_model()
for _ in range(epochs):
    for xb, yb in DataLoader(train_set, batch_size=batch_size):
        criterion(net(xb), yb).backward()
        opt.step()
        opt.zero_grad()
print(criterion(net(xb), yb))
# %%
valid_set = TensorDataset(valid_x, valid_y)
shuffled = DataLoader(train_set, batch_size=batch_size, shuffle=True)
validation = DataLoader(valid_set, batch_size=batch_size * 2)
net, opt = new_model()
for epoch in range(epochs):
    net.train()
    for xb, yb in shuffled:
        criterion(net(xb), yb).backward()
        opt.step()
        opt.zero_grad()
    net.eval()
    with torch.no_grad():
        total = sum(criterion(net(xb), yb) for xb, yb in validation)
    print(epoch, total / len(validation), net.training)
# %%
def batch_loss(model, loss_fn, xs, ys, optimizer=None):
    loss = loss_fn(model(xs), ys)
    if optimizer is not None:
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return loss.item(), len(xs)


def fit(epochs, model, loss_fn, optimizer, train_loader, valid_loader):
    for epoch in range(epochs):
        model.train()
        for xs, ys in train_loader:
            batch_loss(model, loss_fn, xs, ys, optimizer)
        model.eval()
        with torch.no_grad():
            losses, sizes = zip(*[batch_loss(model, loss_fn, xs, ys) for xs, ys in valid_loader])
        print(epoch, round(float(np.sum(np.multiply(losses, sizes)) / np.sum(sizes)), 5))


def loaders(train_set, valid_set, size):
    return (DataLoader(train_set, batch_size=size, shuffle=True),
            DataLoader(valid_set, batch_size=size * 2))


shuffled, validation = loaders(train_set, valid_set, batch_size)
net, opt = new_model()
fit(epochs, net, criterion, opt, shuffled, validation)
# %%
class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, batch):
        h = batch.view(-1, 1, 28, 28)
        for conv in (self.conv1, self.conv2, self.conv3):
            h = F.relu(conv(h))
        h = F.avg_pool2d(h, 4)
        return h.view(-1, h.size(1))


lr = 0.1
net = SmallCNN()
opt = optim.SGD(net.parameters(), lr=lr, momentum=0.9)
fit(epochs, net, criterion, opt, shuffled, validation)
print(net)
# %%
class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def as_images(x):
    return x.view(-1, 1, 28, 28)


net = nn.Sequential(
    Lambda(as_images),
    nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.AvgPool2d(4),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
opt = optim.SGD(net.parameters(), lr=lr, momentum=0.9)
fit(epochs, net, criterion, opt, shuffled, validation)
print(net)
# %%
class MappedLoader:
    def __init__(self, loader, fn):
        self.loader, self.fn = loader, fn

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield self.fn(*batch)


def as_image_batch(x, y):
    return x.view(-1, 1, 28, 28), y


shuffled, validation = (MappedLoader(dl, as_image_batch) for dl in loaders(train_set, valid_set, batch_size))
net = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
opt = optim.SGD(net.parameters(), lr=lr, momentum=0.9)
fit(epochs, net, criterion, opt, shuffled, validation)
print(net, len(shuffled))
# %%
print(torch.cuda.is_available())
device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def on_device(x, y):
    return x.view(-1, 1, 28, 28).to(device), y.to(device)


shuffled, validation = (MappedLoader(dl, on_device) for dl in loaders(train_set, valid_set, batch_size))
net.to(device)
opt = optim.SGD(net.parameters(), lr=lr, momentum=0.9)
fit(epochs, net, criterion, opt, shuffled, validation)
print(device, next(net.parameters()).device, opt.param_groups[0]["momentum"])
