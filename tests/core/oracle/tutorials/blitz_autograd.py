# "A Gentle Introduction to torch.autograd" of the 60-minute blitz (pytorch/tutorials),
# https://pytorch.org/tutorials/beginner/blitz/autograd_tutorial.html
# (source: https://github.com/pytorch/tutorials/blob/main/beginner_source/blitz/autograd_tutorial.py,
# BSD-3-Clause), written from memory of the current page's text (the stored copy of
# the source is the 2019 "Autograd: automatic differentiation" version, which
# test_tutorial_replay.py's notebook covers). The tutorial loads a pretrained
# torchvision resnet18, which neither library ships: the first cell defines a small
# stand-in under the same names (so the tutorial's torchvision import line is left out)
# — a conv net ending in ``fc = Linear(512, 1000)``,
# initialised from the replay's seeded stream, with no pretrained weights. The rest is
# the tutorial's code, unchanged; prose comments are left out.
# %%
import enum

import torch
from torch import nn


class ResNet18_Weights(enum.Enum):
    DEFAULT = "no pretrained weights in the replay"


def resnet18(weights=None):
    model = nn.Sequential()
    model.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
    model.relu = nn.ReLU()
    model.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    model.layer = nn.Conv2d(64, 512, kernel_size=3, stride=2, padding=1)
    model.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    model.flatten = nn.Flatten()
    model.fc = nn.Linear(512, 1000)
    return model
# %%
import torch
model = resnet18(weights=ResNet18_Weights.DEFAULT)
data = torch.rand(1, 3, 64, 64)
labels = torch.rand(1, 1000)
# %%
prediction = model(data) # forward pass
# %%
loss = (prediction - labels).sum()
loss.backward() # backward pass
# %%
optim = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
# %%
optim.step() #gradient descent
# %%
import torch

a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
# %%
Q = 3*a**3 - b**2
# %%
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
# %%
# check if collected gradients are correct
print(9*a**2 == a.grad)
print(-2*b == b.grad)
# %%
x = torch.rand(5, 5)
y = torch.rand(5, 5)
z = torch.rand((5, 5), requires_grad=True)

a = x + y
print(f"Does `a` require gradients?: {a.requires_grad}")
b = x + z
print(f"Does `b` require gradients?: {b.requires_grad}")
# %%
from torch import nn, optim

model = resnet18(weights=ResNet18_Weights.DEFAULT)

# Freeze all the parameters in the network
for param in model.parameters():
    param.requires_grad = False
# %%
model.fc = nn.Linear(512, 10)
# %%
# Optimize only the classifier
optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
