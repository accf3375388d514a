# "Word Embeddings: Encoding Lexical Semantics" (pytorch.org, Deep Learning for NLP with
# PyTorch, by Robert Guthrie; https://pytorch.org/tutorials/beginner/nlp/
# word_embeddings_tutorial.html, source: github.com/pytorch/tutorials,
# beginner_source/nlp/word_embeddings_tutorial.py, BSD-3-Clause), in our own words: one
# lookup in an nn.Embedding(2, 5), then the N-gram language model — the embeddings of the
# two previous words of Shakespeare's Sonnet 2 (public domain), concatenated, through
# Linear(20, 128), ReLU, Linear(128, vocabulary) and log_softmax(dim=1) — trained with
# NLLLoss and SGD(lr=0.001) for the tutorial's 10 epochs, printing each epoch's total
# loss and the learned embedding of "beauty". Changed: the losses are printed per
# epoch, not as one list; the tutorial's closing CBOW exercise (left to the reader) is
# not replayed. Embedding's normal_ and Linear's init draw from the replay's seeded streams.
# %%
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(1)
# %%
index_of = {"hello": 0, "world": 1}
table = nn.Embedding(2, 5)  # 2 words, 5-dimensional embeddings
print(table(torch.tensor([index_of["hello"]], dtype=torch.long)))
# %%
CONTEXT_SIZE, EMBEDDING_DIM = 2, 10
sonnet = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:
Then being asked, where all thy beauty lies,
Where all the treasure of thy lusty days;
To say, within thine own deep sunken eyes,
Were an all-eating shame, and thriftless praise.
How much more praise deserv'd thy beauty's use,
If thou couldst answer 'This fair child of mine
Shall sum my count, and make my old excuse,'
Proving his beauty by succession thine!
This were to be new made when thou art old,
And see thy blood warm when thou feel'st it cold.""".split()
ngrams = [([sonnet[i - j - 1] for j in range(CONTEXT_SIZE)], sonnet[i]) for i in range(CONTEXT_SIZE, len(sonnet))]
print(ngrams[:3])
vocabulary = sorted(set(sonnet))  # sorted, so both runs number the words alike
word_index = {word: i for i, word in enumerate(vocabulary)}
print(len(vocabulary))
# %%
class NGramModel(nn.Module):
    def __init__(self, vocabulary_size, embedding_dim, context_size):
        super().__init__()
        self.embeddings = nn.Embedding(vocabulary_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 128)
        self.linear2 = nn.Linear(128, vocabulary_size)

    def forward(self, context):
        vectors = self.embeddings(context).view((1, -1))
        return F.log_softmax(self.linear2(F.relu(self.linear1(vectors))), dim=1)


model = NGramModel(len(vocabulary), EMBEDDING_DIM, CONTEXT_SIZE)
print(model)
nll = nn.NLLLoss()
sgd = optim.SGD(model.parameters(), lr=0.001)
for epoch in range(10):
    total = 0
    for context, target in ngrams:
        context = torch.tensor([word_index[w] for w in context], dtype=torch.long)
        model.zero_grad()
        loss = nll(model(context), torch.tensor([word_index[target]], dtype=torch.long))
        loss.backward()
        sgd.step()
        total += loss.item()
    print(epoch, total)
# %%
print(model.embeddings.weight[word_index["beauty"]])
