"""``torch.nn`` for GradStudio: Module and its layers, Parameter, init, functional."""
from . import functional, init  # noqa: F401
from .modules import (BCELoss, BCEWithLogitsLoss, BatchNorm1d, Bilinear, CrossEntropyLoss,  # noqa: F401
                      Dropout, ELU, Embedding, Flatten, GELU, HuberLoss, Identity, L1Loss, LayerNorm, LeakyReLU, Linear,
                      LogSoftmax, Module, ModuleDict, ModuleList, MSELoss, NLLLoss, ParameterDict,
                      ParameterList, ReLU, Sequential, Sigmoid, SiLU, SmoothL1Loss, Softmax, Softmin, Softplus, Tanh,
                      Unflatten)
from .modules import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, Conv1d, Conv2d,  # noqa: F401
                      MaxPool1d, MaxPool2d)
from .modules import (CELU, GLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish,  # noqa: F401
                      PReLU, ReLU6, SELU, Softshrink, Softsign, Tanhshrink, Threshold)
from .modules import (AlphaDropout, BatchNorm2d, BatchNorm3d, Dropout1d, Dropout2d, Dropout3d,  # noqa: F401
                      FeatureAlphaDropout, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LazyLinear)
from .parameter import Parameter, UninitializedParameter  # noqa: F401
from .modules import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from .modules import (CosineEmbeddingLoss, CosineSimilarity, GaussianNLLLoss, HingeEmbeddingLoss,  # noqa: F401
                      KLDivLoss, MarginRankingLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                      MultiMarginLoss, PairwiseDistance, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss)
from .modules import (ConstantPad1d, ConstantPad2d, ConstantPad3d, Fold, PixelShuffle,  # noqa: F401
                      PixelUnshuffle, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d,
                      Unfold, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d, ZeroPad1d, ZeroPad2d)
from . import modules, utils  # noqa: F401
