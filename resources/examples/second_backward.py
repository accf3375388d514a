# GradStudio example: calling backward() twice.
# backward() frees the values the graph saved; a second call through the same
# graph fails unless the first one kept them with retain_graph=True. Gradients
# accumulate in .grad until you zero them.

# %% retain_graph=True keeps the graph for another pass
import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward(retain_graph=True)
x.grad

# %% The second pass adds to .grad: 2x + 2x
y.backward()
x.grad

# %% A third pass fails: the second call freed the saved values
y.backward()

# %% Zero the gradient and build the graph again
x.grad.zero_()
y = (x * x).sum()
y.backward()
x.grad
