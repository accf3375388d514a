# "Learning PyTorch with Examples" (pytorch.org tutorials), PyTorch: Tensors and autograd
# (https://pytorch.org/tutorials/beginner/examples_autograd/polynomial_autograd.html,
# BSD-3-Clause) — a third-order polynomial fitted to sin(x) with four scalar leaves and
# a hand-written update. Written from memory of the classic page's text (the current
# page fits exp(x) on an accelerator); its randn draws come from the replay's seeded
# stream. The code is otherwise the tutorial's; prose comments are left out.
# %%
import torch
import math

dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
d = torch.randn((), device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
