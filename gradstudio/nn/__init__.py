"""``torch.nn`` for GradStudio: Module and its layers, Parameter, init, functional."""
from . import functional, init  # noqa: F401
from .modules import (BCELoss, BCEWithLogitsLoss, BatchNorm1d, Bilinear, CrossEntropyLoss,  # noqa: F401
                      Dropout, ELU, Embedding, Flatten, GELU, HuberLoss, Identity, L1Loss, LayerNorm, LeakyReLU, Linear,
                      LogSoftmax, Module, ModuleDict, ModuleList, MSELoss, NLLLoss, ParameterDict,
                      ParameterList, ReLU, Sequential, Sigmoid, SiLU, SmoothL1Loss, Softmax, Softmin, Softplus, Tanh,
                      Unflatten)
from .modules import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, Conv1d, Conv2d,  # noqa: F401
                      MaxPool1d, MaxPool2d)
from .modules import (CosineEmbeddingLoss, CosineSimilarity, GaussianNLLLoss, HingeEmbeddingLoss,  # noqa: F401
                      KLDivLoss, MarginRankingLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                      MultiMarginLoss, PairwiseDistance, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss)
from .parameter import Parameter  # noqa: F401
from . import modules, utils  # noqa: F401
