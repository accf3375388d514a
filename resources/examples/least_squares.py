# GradStudio example: least squares.
# The gradient of the squared error ‖A·W − Y‖² with respect to W is 2·Aᵀ(A·W − Y);
# GradStudio derives it with sympy's matrix calculus and checks it numerically.

# %% Data: 5 observations, 3 features, 2 targets
import torch
torch.manual_seed(0)
A = torch.randn(5, 3)
Y = torch.randn(5, 2)
W = torch.zeros(3, 2, requires_grad=True)

# %% The loss and its gradient
residual = A @ W - Y
loss = (residual ** 2).sum()
print(loss)
loss.backward()
W.grad

# %% The closed form, computed by hand
with torch.no_grad():
    print(2 * A.T @ (A @ W - Y))

# %% One step of gradient descent lowers the loss
with torch.no_grad():
    W -= 0.05 * W.grad
    print(((A @ W - Y) ** 2).sum())
