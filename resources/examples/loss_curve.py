# GradStudio example: plot a loss curve with matplotlib, as tutorials do.
# Gradient descent fits w in y = w·x by hand (w -= lr * w.grad); the last
# cell plots the loss per step with plt.plot, and the figure shows in the
# console under the cell (the kernel's inline backend), as in a notebook.

# %% Data: y = 2x, and a starting guess for w
import torch
import matplotlib.pyplot as plt

x = torch.tensor([1.0, 2.0, 3.0, 4.0])
y = 2 * x
w = torch.tensor(0.5, requires_grad=True)

# %% Ten steps of gradient descent; every loss.backward() is checked
losses = []
for step in range(10):
    loss = ((w * x - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.02 * w.grad
    w.grad.zero_()
    losses.append(loss.item())
w

# %% The loss per step
plt.figure(figsize=(4, 2.5))
plt.plot(losses, marker="o")
plt.xlabel("step")
plt.ylabel("loss")
plt.title("gradient descent on (w·x − y)²")
plt.show()
