# GradStudio example: a training loop with torch.nn and torch.optim.
# A two-layer network learns y = sin(x) + noise. Every loss.backward() is a
# recorded backward call and listed in the Graph panel. Every step has the same
# graph, so the last one is checked at once (closed forms, finite differences,
# torch) and each other step when you select it (Compare says so beside it). The
# Plots panel's Loss curve tab draws the loss of every recorded call; the
# parameters are named model.0.weight … everywhere.

# %% Data: 8 points of a noisy sine
import math
import torch
from torch import nn

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 8).unsqueeze(1)
y = torch.sin(x) + 0.05 * torch.randn(8, 1)
print(x.shape, y.shape)

# %% The model: Linear → Tanh → Linear, with torch's default initialisation
model = nn.Sequential(
    nn.Linear(1, 3),
    nn.Tanh(),
    nn.Linear(3, 1),
)
print(model)
for name, param in model.named_parameters():
    print(name, tuple(param.shape))

# %% Loss and optimizer
loss_fn = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
print(optimizer)

# %% Train: zero_grad, forward, loss, backward, step
steps = 200
losses = []
for step in range(steps):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step % 25 == 0 or step == steps - 1:
        print(f"step {step:3d}  loss {loss.item():.5f}")
print(f"final loss {losses[-1]:.5f} (from {losses[0]:.5f})")

# %% The gradient of the last step, parameter by parameter
for name, param in model.named_parameters():
    print(name, param.grad.norm().item())

# %% Predictions after training
with torch.no_grad():
    print(model(torch.tensor([[-1.5], [0.0], [1.5]])))
