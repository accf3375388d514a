# "Deep Learning with PyTorch" (pytorch.org, Deep Learning for NLP with PyTorch, by Robert
# Guthrie; https://pytorch.org/tutorials/beginner/nlp/deep_learning_tutorial.html, source:
# github.com/pytorch/tutorials, beginner_source/nlp/deep_learning_tutorial.py,
# BSD-3-Clause), in our own words: an affine map (nn.Linear(5, 3) on a randn batch), ReLU,
# softmax and log_softmax of a randn vector, then the logistic-regression bag-of-words
# classifier (nn.Linear + F.log_softmax(dim=1)) telling the tutorial's four inline Spanish
# and English sentences apart, trained with NLLLoss and SGD(lr=0.1) for its 100 epochs,
# with the two test sentences' log probabilities and the weights of "creo" printed
# before and after. Changed: the tutorial's autograd.Variable wrappers are left out (a
# Variable is a Tensor since 0.4), the test sentences are scored under no_grad, and the
# last training loss is printed; nothing is downloaded. randn and Linear's
# initialisation draw from the replay's seeded streams.
# %%
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(1)
# %%
affine = nn.Linear(5, 3)  # x ↦ Ax + b, A of 3×5
batch = torch.randn(2, 5)
print(affine(batch))
# %%
values = torch.randn(2, 2)
print(values)
print(F.relu(values))
# %%
scores = torch.randn(5)
print(scores)
print(F.softmax(scores, dim=0))
print(F.softmax(scores, dim=0).sum())  # a distribution: it sums to one
print(F.log_softmax(scores, dim=0))
# %%
training = [("me gusta comer en la cafeteria".split(), "SPANISH"),
            ("Give it to me".split(), "ENGLISH"),
            ("No creo que sea una buena idea".split(), "SPANISH"),
            ("No it is not a good idea to get lost at sea".split(), "ENGLISH")]
testing = [("Yo creo que si".split(), "SPANISH"), ("it is lost on me".split(), "ENGLISH")]
index_of = {}
for words, _ in training + testing:
    for word in words:
        index_of.setdefault(word, len(index_of))
print(index_of)
label_index = {"SPANISH": 0, "ENGLISH": 1}


class BagOfWords(nn.Module):
    def __init__(self, labels, vocabulary):
        super().__init__()
        self.linear = nn.Linear(vocabulary, labels)

    def forward(self, counts):
        return F.log_softmax(self.linear(counts), dim=1)


def counts_of(words):
    counts = torch.zeros(len(index_of))
    for word in words:
        counts[index_of[word]] += 1
    return counts.view(1, -1)


classifier = BagOfWords(2, len(index_of))
for parameter in classifier.parameters():  # A, then b
    print(parameter)
print(classifier(counts_of(training[0][0])))
# %%
with torch.no_grad():
    for words, _ in testing:
        print(classifier(counts_of(words)))
print(next(classifier.parameters())[:, index_of["creo"]])
# %%
nll = nn.NLLLoss()
sgd = optim.SGD(classifier.parameters(), lr=0.1)
for epoch in range(100):
    for words, label in training:
        classifier.zero_grad()
        loss = nll(classifier(counts_of(words)), torch.LongTensor([label_index[label]]))
        loss.backward()
        sgd.step()
print(loss)
# %%
with torch.no_grad():  # Spanish's log probability went up for the first, English's for the second
    for words, _ in testing:
        print(classifier(counts_of(words)))
print(next(classifier.parameters())[:, index_of["creo"]])
