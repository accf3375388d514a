# "Introduction to PyTorch" (pytorch.org, Deep Learning for NLP with PyTorch, by Robert
# Guthrie; https://pytorch.org/tutorials/beginner/nlp/pytorch_tutorial.html, source:
# github.com/pytorch/tutorials, beginner_source/nlp/pytorch_tutorial.py, BSD-3-Clause),
# in our own words: tensors from lists (1-, 2- and 3-d, float and long), indexing,
# randn, addition, cat along rows and columns (and the error for mismatched sizes),
# view / reshape with -1, then autograd: requires_grad, grad_fn of a sum, backward into
# .grad, requires_grad_ flipping, detach, and no_grad. The tutorial's printed text is
# not copied; nothing is downloaded. randn draws from the replay's seeded stream.
# %%
import torch

torch.manual_seed(1)
# %%
vector = torch.tensor([1., 2., 3.])
matrix = torch.tensor([[1., 2., 3], [4., 5., 6]])
cube = torch.tensor([[[1., 2.], [3., 4.]], [[5., 6.], [7., 8.]]])
print(vector, matrix, cube, sep="\n")
print(vector[0], vector[0].item(), matrix[0], cube[0])
print(torch.tensor([1, 2, 3]), torch.randn((3, 4, 5)).shape)
# %%
print(torch.tensor([1., 2., 3.]) + torch.tensor([4., 5., 6.]))
rows = torch.cat([torch.randn(2, 5), torch.randn(3, 5)])
print(rows)
columns = torch.cat([torch.randn(2, 3), torch.randn(2, 5)], 1)
print(columns)
try:
    torch.cat([torch.randn(2, 3), torch.randn(2, 5)])
except RuntimeError as error:
    print(type(error).__name__, error)
# %%
x = torch.randn(2, 3, 4)
print(x)
print(x.view(2, 12))
print(x.view(2, -1))
# %%
x = torch.tensor([1., 2., 3], requires_grad=True)
y = torch.tensor([4., 5., 6], requires_grad=True)
z = x + y
print(z, z.grad_fn)
s = z.sum()
print(s, s.grad_fn)
s.backward()
print(x.grad)
# %%
x, y = torch.randn(2, 2), torch.randn(2, 2)
print(x.requires_grad, y.requires_grad)
z = x + y
print(z.grad_fn)
x = x.requires_grad_()
y = y.requires_grad_()
z = x + y
print(z.grad_fn, z.requires_grad)
new_z = z.detach()
print(new_z.grad_fn)
# %%
print(x.requires_grad, (x ** 2).requires_grad)
with torch.no_grad():
    print((x ** 2).requires_grad)
