# GradStudio example: the PyTorch autograd tutorial, cell by cell.
# Run a cell with Ctrl+Enter; watch the graph grow and compare, for every
# backward() call, the engine's gradient with the closed form sympy derives.

# %% Setup
import torch

# %% A tensor that records what is done with it
x = torch.ones(2, 2, requires_grad=True)
print(x)

# %% An operation gives a result with a grad_fn
y = x + 2
print(y)
print(y.grad_fn)

# %% backward() needs a scalar output: this call fails (and says why)
y.backward()

# %% sum() makes a scalar; its gradient is 1 for every element
z = x.sum()
print(z)
z.backward()
x.grad

# %% mean() makes a scalar too: d/dx mean(3·x·x) = 3·2·x/4 = 1.5 at x = 1
x = torch.ones(2, 2, requires_grad=True)
y = x * x * 3
print(y)
z = y.mean()
print(z)
z.backward()
x.grad

# %% A data-dependent loop: the graph is whatever actually ran
x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
print(y)
z = y.sum()
z.backward()
x.grad

# %% The graph's saved values are freed after backward(): a second call fails
z.backward()

# %% A vector output needs gradient=: the vector-Jacobian product
x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
y.backward(torch.tensor([1.0, 0.1, 0.001]))
x.grad

# %% requires_grad propagates, and no_grad() switches recording off
print(x.requires_grad)
print((x ** 2).requires_grad)
with torch.no_grad():
    print((x ** 2).requires_grad)
