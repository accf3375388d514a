# GradStudio example: a two-layer network.
# tanh hidden layer, linear output, mean squared error; one step of gradient descent.

# %% Data and parameters
import torch
import torch.nn.functional as F
torch.manual_seed(0)
x = torch.randn(4, 3)
y = torch.randn(4, 1)
W1 = torch.randn(3, 5, requires_grad=True)
b1 = torch.zeros(5, requires_grad=True)
W2 = torch.randn(5, 1, requires_grad=True)
b2 = torch.zeros(1, requires_grad=True)

# %% Forward and backward
h = torch.tanh(x @ W1 + b1)
prediction = h @ W2 + b2
loss = F.mse_loss(prediction, y)
print(loss)
loss.backward()
print(b2.grad)
print(W2.grad)

# %% One step of gradient descent, then the loss again
with torch.no_grad():
    for p in (W1, b1, W2, b2):
        p -= 0.1 * p.grad
        p.grad.zero_()
print(F.mse_loss(torch.tanh(x @ W1 + b1) @ W2 + b2, y))
