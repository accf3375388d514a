# GradStudio example: control flow that depends on the data.
# autograd records the operations that actually ran: the graph of a loop is as
# long as the loop turned out to be, and the gradient follows that trace.

# %% A loop that runs until the values are large
import torch
x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
y = x
steps = 0
while y.abs().sum() < 100:
    y = y * 1.5 + x
    steps += 1
print(steps)
y.sum().backward()
x.grad

# %% A branch: only the branch taken is differentiated
w = torch.tensor(3.0, requires_grad=True)
if w > 0:
    out = w ** 3
else:
    out = -w
out.backward()
w.grad

# %% At a kink torch picks one side: relu'(0) is 0
r = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
torch.relu(r).sum().backward()
r.grad
