# "Neural Networks" (pytorch.org's 60-minute blitz), in our own words: LeNet with Conv2d,
# max_pool2d (a tuple and an int window), view and three Linear layers; its printout and
# parameters, backward with a random gradient, MSELoss against an integer target, the
# grad_fn chain followed by hand, conv1's bias gradient before and after backward, and
# one optim.SGD step. Node addresses differ from run to run, so the chain prints names.
# %%
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.flat_size(x))
        x = F.relu(self.fc1(x))
        return self.fc3(F.relu(self.fc2(x)))

    def flat_size(self, x):
        count = 1
        for extent in x.size()[1:]:
            count *= extent
        return count


net = LeNet()
print(net)
weights = list(net.parameters())
print(len(weights), weights[0].size(), [tuple(p.shape) for p in weights])
# %%
image = torch.randn(1, 1, 32, 32)
scores = net(image)
print(scores)
net.zero_grad()
scores.backward(torch.randn(1, 10))
print(net.fc3.bias.grad is not None, net.conv1.weight.grad.shape)
# %%
def named(node):
    return str(node).split(" object at ")[0] + ">"


output = net(image)
target = torch.arange(1, 11).view(1, -1)
criterion = nn.MSELoss()
loss = criterion(output, target)
print(loss)
print(named(loss.grad_fn))
print(named(loss.grad_fn.next_functions[0][0]))
print(named(loss.grad_fn.next_functions[0][0].next_functions[0][0]))
print([named(fn) for fn, _ in loss.grad_fn.next_functions[0][0].next_functions])
# %%
net.zero_grad()
print("conv1.bias.grad before backward")
print(net.conv1.bias.grad)
loss.backward()
print("conv1.bias.grad after backward")
print(net.conv1.bias.grad)
# %%
learning_rate = 0.01
for f in net.parameters():
    f.data.sub_(f.grad.data * learning_rate)
print(criterion(net(image), target))
# %%
import torch.optim as optim

optimizer = optim.SGD(net.parameters(), lr=0.01)
for _ in range(3):
    optimizer.zero_grad()
    loss = criterion(net(image), target)
    loss.backward()
    optimizer.step()
    print(loss.item())
print(optimizer)
