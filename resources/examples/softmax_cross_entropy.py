# GradStudio example: softmax and cross-entropy.
# For logits z and a target class t, d/dz cross_entropy = softmax(z) − onehot(t),
# averaged over the batch. Every entry of the gradient gets its own exact formula.

# %% Logits for 3 samples and 4 classes
import torch
import torch.nn.functional as F
torch.manual_seed(1)
logits = torch.randn(3, 4, requires_grad=True)
target = torch.tensor([0, 3, 1])
print(logits)

# %% The loss and its gradient
loss = F.cross_entropy(logits, target)
print(loss)
loss.backward()
logits.grad

# %% The same by hand: (softmax − onehot) / batch size
with torch.no_grad():
    p = torch.softmax(logits, dim=1)
    onehot = torch.zeros(3, 4)
    for row, cls in enumerate(target.tolist()):
        onehot[row, cls] = 1.0
    print((p - onehot) / 3)
