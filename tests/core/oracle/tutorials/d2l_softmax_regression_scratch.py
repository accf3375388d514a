# "Implementation of Softmax Regression from Scratch", Dive into Deep Learning (d2l.ai)
# chapter 3, PyTorch tab, in the 0.17 edition's form (https://classic.d2l.ai/chapter_linear-networks/softmax-regression-scratch.html;
# source: https://github.com/d2l-ai/d2l-en, chapter_linear-networks/softmax-regression-scratch.md,
# code under MIT-0), written from memory of the page's text with the d2l package left
# out: Fashion-MNIST (a download) is replaced by a synthetic set of 28×28 "images", each
# a class's shape in random shades, served by the same DataLoader calls
# d2l.load_data_fashion_mnist makes; d2l.sgd and the Animator's plot are inlined as the
# book defines them (the plot is left out). torch.normal and the shuffling DataLoader
# draw from the replay's seeded streams. The rest is the book's code, unchanged, with
# fewer examples.
# %%
import torch
from torch.utils import data


def synthetic_fashion(n, prototypes):  # stands in for torchvision.datasets.FashionMNIST
    labels = (torch.rand(n) * 10).long()
    images = prototypes[labels] * torch.rand(n, 1, 28, 28)  # a class's shape, random shades
    return data.TensorDataset(images, labels)


def load_data_fashion_mnist(batch_size):  # d2l.load_data_fashion_mnist, without resize
    prototypes = (torch.rand(10, 1, 28, 28) < 0.3).float()  # each class's pixels
    mnist_train, mnist_test = synthetic_fashion(3000, prototypes), synthetic_fashion(500, prototypes)
    return (data.DataLoader(mnist_train, batch_size, shuffle=True, num_workers=0),
            data.DataLoader(mnist_test, batch_size, shuffle=False, num_workers=0))


def sgd(params, lr, batch_size):  # d2l.sgd
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
# %%
batch_size = 256
train_iter, test_iter = load_data_fashion_mnist(batch_size)
# %%
num_inputs = 784
num_outputs = 10

W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
b = torch.zeros(num_outputs, requires_grad=True)
# %%
X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
X.sum(0, keepdim=True), X.sum(1, keepdim=True)
# %%
def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition  # The broadcasting mechanism is applied here
# %%
X = torch.normal(0, 1, (2, 5))
X_prob = softmax(X)
X_prob, X_prob.sum(1)
# %%
def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)
# %%
y = torch.tensor([0, 2])
y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
y_hat[[0, 1], y]
# %%
def cross_entropy(y_hat, y):
    return - torch.log(y_hat[range(len(y_hat)), y])

cross_entropy(y_hat, y)
# %%
def accuracy(y_hat, y):  #@save
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())
# %%
accuracy(y_hat, y) / len(y)
# %%
def evaluate_accuracy(net, data_iter):  #@save
    """Compute the accuracy for a model on a dataset."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # Set the model to evaluation mode
    metric = Accumulator(2)  # No. of correct predictions, no. of predictions

    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]
# %%
class Accumulator:  #@save
    """For accumulating sums over `n` variables."""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]
# %%
evaluate_accuracy(net, test_iter)
# %%
def train_epoch_ch3(net, train_iter, loss, updater):  #@save
    """The training loop defined in Chapter 3."""
    # Set the model to training mode
    if isinstance(net, torch.nn.Module):
        net.train()
    # Sum of training loss, sum of training accuracy, no. of examples
    metric = Accumulator(3)
    for X, y in train_iter:
        # Compute gradients and update parameters
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            # Using PyTorch in-built optimizer & loss criterion
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            # Using custom built optimizer & loss criterion
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    # Return training loss and training accuracy
    return metric[0] / metric[2], metric[1] / metric[2]
# %%
def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):  #@save
    """Train a model (defined in Chapter 3)."""
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        print(epoch + 1, train_metrics + (test_acc,))  # the Animator's points
    train_loss, train_acc = train_metrics
    assert train_loss < 0.5, train_loss
    assert train_acc <= 1 and train_acc > 0.7, train_acc
    assert test_acc <= 1 and test_acc > 0.7, test_acc
# %%
lr = 0.1

def updater(batch_size):
    return sgd([W, b], lr, batch_size)
# %%
num_epochs = 10
train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, updater)
# %%
def predict_ch3(net, test_iter, n=6):  #@save
    """Predict labels (defined in Chapter 3)."""
    for X, y in test_iter:
        break
    trues = [int(t) for t in y]
    preds = [int(t) for t in net(X).argmax(axis=1)]
    titles = [str(true) + '\n' + str(pred) for true, pred in zip(trues, preds)]
    print(titles[0:n])  # d2l.show_images(X[0:n].reshape((n, 28, 28)), 1, n, titles=titles[0:n])

predict_ch3(net, test_iter)
