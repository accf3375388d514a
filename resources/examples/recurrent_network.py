# GradStudio example: a recurrent network, unrolled.
# An nn.RNN reads a short sequence one step at a time, h_t = tanh(W_ih x_t + b_ih +
# W_hh h_(t-1) + b_hh), and a Linear layer predicts the next value from the last
# hidden state. The Graph panel shows the unrolled network as torch records it: the
# input projected for every step at once, one tanh per step, the steps stacked. The
# same W_hh is used at every step, so its gradient is the sum of every step's part
# (backpropagation through time); Compare checks it three ways.

# %% A sequence and the next value to predict
import torch
from torch import nn

torch.manual_seed(0)
sequence = torch.tensor([[0.0], [0.5], [0.9], [1.0], [0.8]]).unsqueeze(1)  # (time, batch, feature)
target = torch.tensor([[0.4]])
print(sequence.shape, target.shape)

# %% The model: RNN(1 → 3) and a Linear read-out of the last hidden state
rnn = nn.RNN(input_size=1, hidden_size=3)
readout = nn.Linear(3, 1)
print(rnn, readout)
for name, param in rnn.named_parameters():
    print(name, tuple(param.shape))

# %% Forward through time, the loss, and backpropagation through time
output, h_n = rnn(sequence)
prediction = readout(h_n[-1])
loss = nn.functional.mse_loss(prediction, target)
print(output.grad_fn, h_n.grad_fn, loss.item())
loss.backward()

# %% The recurrent weight's gradient: every step's contribution added up
print(rnn.weight_hh_l0.grad)
print(rnn.weight_ih_l0.grad.norm().item(), readout.weight.grad)
