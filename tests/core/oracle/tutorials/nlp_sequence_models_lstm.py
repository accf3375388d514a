# "Sequence Models and Long Short-Term Memory Networks" (pytorch.org, Deep Learning for
# NLP with PyTorch, by Robert Guthrie; https://pytorch.org/tutorials/beginner/nlp/
# sequence_models_tutorial.html, source: github.com/pytorch/tutorials,
# beginner_source/nlp/sequence_models_tutorial.py, BSD-3-Clause), in our own words:
# torch.manual_seed(1); an nn.LSTM(3, 3) stepped through a sequence of five randn rows
# one at a time with a randn (h, c), then run over the whole sequence at once from a
# fresh randn state, printing the output and the final (h, c); then the part-of-speech
# tagger — nn.Embedding, nn.LSTM (zero initial state), nn.Linear and
# F.log_softmax(dim=1) — trained with NLLLoss and optim.SGD(lr=0.1) on the tutorial's
# two inline sentences for its 300 epochs, the tag scores of the first sentence printed
# under no_grad before and after. Nothing is downloaded or plotted. The randn draws,
# Embedding's normal_ and the LSTM's and Linear's uniform_ / kaiming_uniform_ come from
# the replay's seeded streams (manual_seed still runs, and prints its Generator).
# %%
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(1)
# %%
lstm = nn.LSTM(3, 3)  # input size 3, hidden size 3
sequence = [torch.randn(1, 3) for _ in range(5)]
state = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))
for row in sequence:  # one step at a time: state carries (h, c) forward
    out, state = lstm(row.view(1, 1, -1), state)
print(out)
print(state)

# the same layer over the whole sequence at once, from a fresh state
sequence = torch.cat(sequence).view(len(sequence), 1, -1)
state = (torch.randn(1, 1, 3), torch.randn(1, 1, 3))
out, state = lstm(sequence, state)
print(out)  # its last row is state[0]
print(state)
# %%
def as_indices(items, index_of):
    return torch.tensor([index_of[item] for item in items], dtype=torch.long)


sentences = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]
word_index = {}
for words, _ in sentences:
    for word in words:
        word_index.setdefault(word, len(word_index))
print(word_index)
tag_index = {"DET": 0, "NN": 1, "V": 2}
EMBEDDING_DIM = HIDDEN_DIM = 6
# %%
class Tagger(nn.Module):
    def __init__(self, embedding_dim, hidden_dim, vocabulary, tags):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.embed = nn.Embedding(vocabulary, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.to_tags = nn.Linear(hidden_dim, tags)

    def forward(self, words):
        vectors = self.embed(words)
        hidden, _ = self.lstm(vectors.view(len(words), 1, -1))
        scores = self.to_tags(hidden.view(len(words), -1))
        return F.log_softmax(scores, dim=1)


tagger = Tagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_index), len(tag_index))
print(tagger)
nll = nn.NLLLoss()
sgd = optim.SGD(tagger.parameters(), lr=0.1)
with torch.no_grad():  # before training: row i holds word i's score for each tag
    print(tagger(as_indices(sentences[0][0], word_index)))
# %%
for epoch in range(300):
    for words, tags in sentences:
        tagger.zero_grad()
        loss = nll(tagger(as_indices(words, word_index)), as_indices(tags, tag_index))
        loss.backward()
        sgd.step()
    if epoch % 50 == 0:
        print(epoch, loss.item())
# %%
with torch.no_grad():  # after training: the largest score of each row is its tag
    scores = tagger(as_indices(sentences[0][0], word_index))
    print(scores)
    print(scores.argmax(dim=1))
