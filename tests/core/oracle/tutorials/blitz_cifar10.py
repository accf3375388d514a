# "Training a Classifier" of the 60-minute blitz (pytorch/tutorials),
# https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html
# (source: https://github.com/pytorch/tutorials/blob/main/beginner_source/blitz/cifar10_tutorial.py,
# BSD-3-Clause), written from memory of the current page's text. CIFAR10 is not
# downloaded and torchvision is not used: the first cell defines stand-ins under
# torchvision's names (so the tutorial's two torchvision import lines are left out) —
# a CIFAR10 whose images are uint8 arrays of shape (32, 32, 3) like the real one's
# ``data`` and whose labels are ints, 400 training and 100 test images instead of
# 50000 and 10000, so that the replay takes seconds (the training loop's "every 2000
# mini-batches" line is then never reached: 8000 images would take minutes), made
# from one seeded numpy stream with each class tinting its own colour;
# ToTensor, Normalize and Compose doing what torchvision's do to such an array; and a
# make_grid that only lays the batch side by side (it is only shown). The shuffling
# DataLoader draws from the replay's seeded stream. The rest is the tutorial's code,
# unchanged; prose comments are left out.
# %%
import types

import numpy as np
import torch


class _CIFAR10(torch.utils.data.Dataset):
    def __init__(self, root, train, download, transform):
        rng = np.random.default_rng(10 if train else 11)
        n = 400 if train else 100
        self.targets = rng.integers(0, 10, n).tolist()
        tint = rng.random((10, 3))
        pixels = rng.random((n, 32, 32, 3)) * 0.6 + 0.4 * tint[self.targets][:, None, None, :]
        self.data = (pixels * 255).astype(np.uint8)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        return self.transform(self.data[index]), self.targets[index]


class _ToTensor:
    def __call__(self, pic):
        return torch.from_numpy(pic.transpose(2, 0, 1).copy()).float().div(255)


class _Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)

    def __call__(self, tensor):
        return (tensor - self.mean) / self.std


class _Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


def _make_grid(images, padding=2):
    return torch.cat([torch.nn.functional.pad(image, (padding,) * 4) for image in images], dim=2)


transforms = types.SimpleNamespace(ToTensor=_ToTensor, Normalize=_Normalize, Compose=_Compose)
torchvision = types.SimpleNamespace(datasets=types.SimpleNamespace(CIFAR10=_CIFAR10),
                                    utils=types.SimpleNamespace(make_grid=_make_grid),
                                    transforms=transforms)
# %%
import torch
# %%
transform = transforms.Compose(
    [transforms.ToTensor(),
     transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

batch_size = 4

trainset = torchvision.datasets.CIFAR10(root='./data', train=True,
                                        download=True, transform=transform)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size,
                                          shuffle=True, num_workers=2)

testset = torchvision.datasets.CIFAR10(root='./data', train=False,
                                       download=True, transform=transform)
testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size,
                                         shuffle=False, num_workers=2)

classes = ('plane', 'car', 'bird', 'cat',
           'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
# %%
import matplotlib.pyplot as plt
import numpy as np

# functions to show an image


def imshow(img):
    img = img / 2 + 0.5     # unnormalize
    npimg = img.numpy()
    plt.imshow(np.transpose(npimg, (1, 2, 0)))
    plt.show()


# get some random training images
dataiter = iter(trainloader)
images, labels = next(dataiter)

# show images
imshow(torchvision.utils.make_grid(images))
# print labels
print(' '.join(f'{classes[labels[j]]:5s}' for j in range(batch_size)))
# %%
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1) # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
# %%
import torch.optim as optim

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
# %%
for epoch in range(2):  # loop over the dataset multiple times

    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        # get the inputs; data is a list of [inputs, labels]
        inputs, labels = data

        # zero the parameter gradients
        optimizer.zero_grad()

        # forward + backward + optimize
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()

        # print statistics
        running_loss += loss.item()
        if i % 2000 == 1999:    # print every 2000 mini-batches
            print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2000:.3f}')
            running_loss = 0.0

print('Finished Training')
# %%
PATH = './cifar_net.pth'
torch.save(net.state_dict(), PATH)
# %%
dataiter = iter(testloader)
images, labels = next(dataiter)

# print images
imshow(torchvision.utils.make_grid(images))
print('GroundTruth: ', ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))
# %%
net = Net()
net.load_state_dict(torch.load(PATH, weights_only=True))
# %%
outputs = net(images)
# %%
_, predicted = torch.max(outputs, 1)

print('Predicted: ', ' '.join(f'{classes[predicted[j]]:5s}'
                              for j in range(4)))
# %%
correct = 0
total = 0
# since we're not training, we don't need to calculate the gradients for our outputs
with torch.no_grad():
    for data in testloader:
        images, labels = data
        # calculate outputs by running images through the network
        outputs = net(images)
        # the class with the highest energy is what we choose as prediction
        _, predicted = torch.max(outputs, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()

print(f'Accuracy of the network on the 10000 test images: {100 * correct // total} %')
# %%
# prepare to count predictions for each class
correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}

# again no gradients needed
with torch.no_grad():
    for data in testloader:
        images, labels = data
        outputs = net(images)
        _, predictions = torch.max(outputs, 1)
        # collect the correct predictions for each class
        for label, prediction in zip(labels, predictions):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1


# print accuracy for each class
for classname, correct_count in correct_pred.items():
    accuracy = 100 * float(correct_count) / total_pred[classname]
    print(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')
# %%
device = torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')

# Assuming that we are on a CUDA machine, this should print a CUDA device:

print(device)
# %%
del dataiter
