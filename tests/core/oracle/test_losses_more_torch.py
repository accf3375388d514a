"""The losses and distances of torch.nn beyond MSE / L1 / NLL / cross-entropy / BCE /
Huber / smooth L1, against torch 2.13: kl_div, poisson_nll_loss, gaussian_nll_loss,
margin_ranking_loss, hinge_embedding_loss, soft_margin_loss,
multilabel_soft_margin_loss, multi_margin_loss, multilabel_margin_loss,
cosine_embedding_loss, triplet_margin_loss, pairwise_distance, their modules and
CosineSimilarity — for every reduction in float32 and float64: values, the top of each
node chain, the gradients of every input that takes one, torch's errors and warnings,
and the legacy size_average / reduce arguments."""
from __future__ import annotations

import warnings

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def chain(t) -> str:
    if t.grad_fn is None:
        return f"{t!r} None"
    return f"{t!r} {type(t.grad_fn).__name__} {[type(f).__name__ if f else None for f, _ in t.grad_fn.next_functions]}"


def cases(torch, dtype):
    """(name, a function of the reduction returning the loss, the tensors whose gradients
    to show), the inputs made afresh for each call."""
    F = torch.nn.functional

    def leaf(values):
        return torch.tensor(values, dtype=dtype, requires_grad=True)

    def const(values):
        return torch.tensor(values, dtype=dtype)

    x = [[0.3, -1.2, 0.9, 0.1], [1.5, 0.2, -0.4, 0.8], [-0.7, 0.6, 0.35, -1.9]]
    y = [[1.1, 0.4, -0.2, 0.7], [-0.3, 0.9, 1.6, -1.0], [0.5, -0.8, 0.25, 1.2]]
    probs = [[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.0, 0.5], [0.7, 0.1, 0.1, 0.1]]
    counts = [[0.0, 1.0, 3.0, 2.0], [5.0, 0.0, 1.0, 4.0], [2.0, 7.0, 0.5, 1.0]]
    signs = [[1., -1., -1., 1.], [-1., 1., 1., -1.], [1., 1., -1., -1.]]
    out = []

    def case(name, build):
        out.append((name, build))

    def kl(reduction, log_target=False):
        a, t = leaf(x), leaf(probs) if not log_target else leaf(y)
        return F.kl_div(a.log_softmax(1), t, reduction=reduction, log_target=log_target), (a, t)
    case("kl_div", kl)
    case("kl_div log_target", lambda r: kl(r, True))
    case("kl_div batchmean", lambda r: kl("batchmean"))

    def poisson(reduction, log_input=True, full=False):
        a, t = leaf(x if log_input else [[abs(v) + 0.1 for v in row] for row in x]), const(counts)
        return F.poisson_nll_loss(a, t, log_input=log_input, full=full, reduction=reduction), (a,)
    case("poisson_nll_loss", poisson)
    case("poisson_nll_loss rates", lambda r: poisson(r, log_input=False))
    case("poisson_nll_loss full", lambda r: poisson(r, full=True))

    def gaussian(reduction, var_shape="same", full=False):
        a, t = leaf(x), leaf(y)
        var = {"same": [[abs(v) + 0.05 for v in row] for row in y], "short": [0.5, 2.0, 1e-9],
               "column": [[0.5], [2.0], [1.5]]}[var_shape]
        v = leaf(var)
        return F.gaussian_nll_loss(a, t, v, full=full, reduction=reduction), (a, t, v)
    case("gaussian_nll_loss", gaussian)
    case("gaussian_nll_loss one per row", lambda r: gaussian(r, "short", full=True))
    case("gaussian_nll_loss broadcast", lambda r: gaussian(r, "column"))
    case("gaussian_nll_loss float var",
         lambda r: (lambda a: (F.gaussian_nll_loss(a, const(y), 0.7, reduction=r), (a,)))(leaf(x)))

    def ranking(reduction, margin=0.0):
        a, b, t = leaf(x[0]), leaf(y[0]), leaf([1., -1., 1., -1.])
        return F.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction), (a, b, t)
    case("margin_ranking_loss", ranking)
    case("margin_ranking_loss margin", lambda r: ranking(r, 0.5))

    def hinge(reduction, margin=1.0):
        a = leaf([[abs(v) for v in row] for row in x])
        return F.hinge_embedding_loss(a, const(signs), margin=margin, reduction=reduction), (a,)
    case("hinge_embedding_loss", hinge)
    case("hinge_embedding_loss margin", lambda r: hinge(r, 0.5))

    def soft(reduction):
        a = leaf(x)
        return F.soft_margin_loss(a, const(signs), reduction=reduction), (a,)
    case("soft_margin_loss", soft)

    def multilabel_soft(reduction, weight=None):
        a, t = leaf(x), leaf([[1., 0., 0., 1.], [0., 1., 1., 0.], [0.3, 0.7, 0., 1.]])
        w = None if weight is None else const(weight)
        return F.multilabel_soft_margin_loss(a, t, weight=w, reduction=reduction), (a, t)
    case("multilabel_soft_margin_loss", multilabel_soft)
    case("multilabel_soft_margin_loss weight", lambda r: multilabel_soft(r, [1., 2., 0.6, 1.]))

    def multi(reduction, p=1, margin=1.0, weight=None, rows=x, target=(2, 0, 1)):
        a = leaf(rows)
        w = None if weight is None else const(weight)
        return F.multi_margin_loss(a, torch.tensor(target), p=p, margin=margin, weight=w,
                                   reduction=reduction), (a,)
    case("multi_margin_loss", multi)
    case("multi_margin_loss p=2 margin", lambda r: multi(r, p=2, margin=0.5))
    case("multi_margin_loss weight", lambda r: multi(r, weight=[1., 2., 0.5, 3.]))
    case("multi_margin_loss vector", lambda r: multi(r, rows=x[0], target=[3]))
    case("multi_margin_loss vector, 0-d target", lambda r: multi(r, p=2, rows=x[0], target=3))

    def multilabel(reduction, rows=x, target=((2, 0, -1, 1), (1, -1, 0, 0), (3, 1, 2, 0))):
        a = leaf(rows)
        return F.multilabel_margin_loss(a, torch.tensor(target), reduction=reduction), (a,)
    case("multilabel_margin_loss", multilabel)
    case("multilabel_margin_loss vector", lambda r: multilabel(r, rows=x[1], target=[3, 0, -1, 1]))

    def cosine(reduction, margin=0.0, batched=True):
        if batched:
            a, b, t = leaf(x), leaf(y), const([1., -1., -1.])
        else:
            a, b, t = leaf(x[0]), leaf(y[1]), const(-1.)
        return F.cosine_embedding_loss(a, b, t, margin=margin, reduction=reduction), (a, b)
    case("cosine_embedding_loss", cosine)
    case("cosine_embedding_loss margin", lambda r: cosine(r, margin=-0.5))
    case("cosine_embedding_loss vectors", lambda r: cosine(r, batched=False))

    def triplet(reduction, **options):
        a, p, n = leaf(x), leaf(y), leaf(probs)
        return F.triplet_margin_loss(a, p, n, reduction=reduction, **options), (a, p, n)
    case("triplet_margin_loss", triplet)
    case("triplet_margin_loss p=1 swap", lambda r: triplet(r, p=1, swap=True, margin=2.0))
    case("triplet_margin_loss eps", lambda r: triplet(r, eps=0.1, margin=0.5))
    return out


REDUCTIONS = ("none", "mean", "sum")


def transcript(torch) -> list[str]:
    lines = []
    for dtype in (torch.float32, torch.float64):
        for name, build in cases(torch, dtype):
            for reduction in REDUCTIONS:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    loss, leaves = build(reduction)
                lines.append(f"{name} {reduction}: {chain(loss)}")
                lines += [f"  warning: {w.category.__name__}: {w.message}" for w in caught]
                (loss.sum() if reduction == "none" else loss).backward()
                lines += [f"  grad {i}: {t.grad!r}" for i, t in enumerate(leaves)]
    return lines


def test_losses_as_torch(torch):
    ours, theirs = transcript(gradstudio), transcript(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a == b


def distances(torch) -> list[str]:
    F, nn = torch.nn.functional, torch.nn
    lines = []
    for dtype in (torch.float32, torch.float64):
        a = torch.tensor([[0.3, -1.2, 0.9], [1.5, 0.2, -0.4]], dtype=dtype, requires_grad=True)
        b = torch.tensor([[1.1, 0.4, -0.2], [-0.3, 0.9, 1.6]], dtype=dtype, requires_grad=True)
        calls = [lambda: F.pairwise_distance(a, b), lambda: F.pairwise_distance(a, b, keepdim=True),
                 lambda: F.pairwise_distance(a, b, p=1), lambda: F.pairwise_distance(a, b, p=float("inf")),
                 lambda: F.pairwise_distance(a, b, p=3.0, eps=0.0), lambda: F.pairwise_distance(a[0], b),
                 lambda: F.pairwise_distance(a[0, 0], b[0, 0]),
                 lambda: nn.PairwiseDistance(p=1.0, keepdim=True)(a, b), lambda: nn.CosineSimilarity(0)(a, b),
                 lambda: nn.CosineSimilarity()(a, b), lambda: nn.CosineSimilarity(dim=1, eps=0.5)(a, b * 0)]
        for call in calls:
            result = call()
            lines.append(chain(result))
            a.grad = b.grad = None
            result.sum().backward()
            lines += [repr(a.grad), repr(b.grad)]
    return lines


def test_distances_as_torch(torch):
    assert distances(gradstudio) == distances(torch)


def modules(torch) -> list[str]:
    nn = torch.nn
    x = torch.tensor([[0.3, -1.2, 0.9], [1.5, 0.2, -0.4]], requires_grad=True)
    y = torch.tensor([[1.1, 0.4, -0.2], [-0.3, 0.9, 1.6]])
    made = [nn.KLDivLoss(reduction="batchmean", log_target=True), nn.PoissonNLLLoss(full=True),
            nn.GaussianNLLLoss(full=True, reduction="sum"), nn.MarginRankingLoss(0.5), nn.HingeEmbeddingLoss(2.0),
            nn.SoftMarginLoss(), nn.MultiLabelSoftMarginLoss(torch.tensor([1., 2., 3.])),
            nn.MultiMarginLoss(p=2, margin=0.5), nn.MultiLabelMarginLoss(reduction="none"),
            nn.CosineEmbeddingLoss(margin=0.1), nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True),
            nn.PairwiseDistance(), nn.CosineSimilarity(dim=0, eps=1e-6)]
    lines = [repr(made), repr(nn.Sequential(*made[:3]))]
    lines.append(repr([(m.reduction if hasattr(m, "reduction") else None) for m in made]))
    lines.append(repr([made[0].log_target, made[1].log_input, made[1].full, made[1].eps, made[3].margin,
                       made[4].margin, made[7].p, made[7].margin, made[10].swap, made[10].p, made[11].norm,
                       made[11].eps, made[11].keepdim, made[12].dim, made[12].eps, made[9].margin]))
    lines.append(repr(list(made[6].state_dict())) + repr(made[6].weight))
    t_signs = torch.tensor([[1., -1., 1.], [-1., 1., 1.]])
    calls = [lambda: made[0](x.log_softmax(1), y), lambda: made[1](x, y.abs()), lambda: made[2](x, y, y.abs()),
             lambda: made[3](x[0], y[0], t_signs[0]), lambda: made[4](x.abs(), t_signs), lambda: made[5](x, t_signs),
             lambda: made[6](x, t_signs.clamp(0)), lambda: made[7](x, torch.tensor([2, 0])),
             lambda: made[8](x, torch.tensor([[2, -1, 0], [1, 0, -1]])),
             lambda: made[9](x, y, torch.tensor([1., -1.])), lambda: made[10](x, y, y * 2)]
    for call in calls:
        x.grad = None
        result = call()
        result.sum().backward()
        lines += [chain(result), repr(x.grad)]
    return lines


def test_modules_as_torch(torch):
    assert modules(gradstudio) == modules(torch)


def errors(torch) -> list[str]:
    F, nn = torch.nn.functional, torch.nn
    x = torch.tensor([[0.3, -1.2, 0.9], [1.5, 0.2, -0.4]], requires_grad=True)
    t = torch.tensor([[1.1, 0.4, -0.2], [-0.3, 0.9, 1.6]], requires_grad=True)
    calls = [
        lambda: F.kl_div(x, t, reduction="bad"), lambda: F.kl_div(x, torch.tensor([[1, 2, 3], [0, 1, 2]])),
        lambda: F.kl_div(x, t, size_average=False), lambda: F.kl_div(x, t, reduce=False),
        lambda: F.kl_div(x[0, 0], t[0, 0], reduction="batchmean"),
        lambda: F.poisson_nll_loss(x, t, reduction="avg"), lambda: F.poisson_nll_loss(x, t, reduce=False),
        lambda: F.poisson_nll_loss(x, t, size_average=False),
        lambda: F.gaussian_nll_loss(x, t, -1.0), lambda: F.gaussian_nll_loss(x, t, torch.tensor([1., -1., 1.])),
        lambda: F.gaussian_nll_loss(x, t, torch.ones(3, 2)), lambda: F.gaussian_nll_loss(x, t, torch.ones(2, 2)),
        lambda: F.gaussian_nll_loss(x, t, torch.ones(1, 1)), lambda: F.gaussian_nll_loss(x, t, torch.ones(2, 3), reduction="x"),
        lambda: F.margin_ranking_loss(x, t, torch.ones(3)), lambda: F.margin_ranking_loss(x, t, torch.ones(2, 3), reduction="y"),
        lambda: F.margin_ranking_loss(x, t, torch.ones(2, 3), size_average=True, reduce=True),
        lambda: F.hinge_embedding_loss(x, torch.ones(3)), lambda: F.hinge_embedding_loss(x, t, reduction="q"),
        lambda: F.soft_margin_loss(x, t), lambda: F.soft_margin_loss(x, t.detach(), reduction="x"),
        lambda: F.soft_margin_loss(x, t.detach()[0]), lambda: F.soft_margin_loss(x, torch.ones(2, 3, dtype=torch.long)),
        lambda: F.multilabel_soft_margin_loss(x, t, reduction="x"),
        lambda: F.multilabel_soft_margin_loss(x, t, reduce=False),
        lambda: F.multi_margin_loss(x, torch.tensor([1, 3])), lambda: F.multi_margin_loss(x, torch.tensor([1, -1])),
        lambda: F.multi_margin_loss(x, torch.tensor([1, 0, 1])), lambda: F.multi_margin_loss(x[0], torch.tensor([1, 2])),
        lambda: F.multi_margin_loss(x, torch.tensor([[1], [2]])), lambda: F.multi_margin_loss(x, torch.tensor([1, 0]), p=3),
        lambda: F.multi_margin_loss(x, torch.tensor([1, 0]), weight=torch.tensor([1., 2.])),
        lambda: F.multi_margin_loss(x, torch.tensor([1, 0]), weight=torch.ones(2, 3)),
        lambda: F.multi_margin_loss(x, torch.tensor([1., 0.])), lambda: F.multi_margin_loss(x[None], torch.tensor([1, 0])),
        lambda: F.multi_margin_loss(torch.zeros(2, 0), torch.tensor([1, 2])),
        lambda: F.multi_margin_loss(x, torch.tensor([1, 0]), reduction="z"),
        lambda: F.multi_margin_loss(torch.tensor(0.5), torch.tensor(0)),
        lambda: F.multilabel_margin_loss(x, torch.tensor([[1, 3, -1], [0, 0, 0]])),
        lambda: F.multilabel_margin_loss(x, torch.tensor([[1, -2, -1], [0, 0, 0]])),
        lambda: F.multilabel_margin_loss(x, torch.tensor([[1, 2], [0, 0]])),
        lambda: F.multilabel_margin_loss(x, torch.tensor([1, 2, -1])),
        lambda: F.multilabel_margin_loss(x[0], torch.tensor([1, 2])),
        lambda: F.multilabel_margin_loss(x, torch.tensor([[1., 2, -1], [0, 0, 0]])),
        lambda: F.multilabel_margin_loss(x, torch.tensor([[1, 2, -1], [0, 0, 0]]).int()),
        lambda: F.multilabel_margin_loss(x[None], torch.tensor([[1, 2, -1], [0, 0, 0]])),
        lambda: F.multilabel_margin_loss(x, torch.tensor([[1, 2, -1], [0, 0, 0]]), reduction="w"),
        lambda: F.cosine_embedding_loss(x, t, torch.ones(2, 3)), lambda: F.cosine_embedding_loss(x, t, torch.tensor(1.)),
        lambda: F.cosine_embedding_loss(x[0], t[0], torch.ones(2)),
        lambda: F.cosine_embedding_loss(x, t, torch.ones(2), reduction="v"),
        lambda: F.triplet_margin_loss(x, t, t[0]), lambda: F.triplet_margin_loss(x, t, t, margin=0),
        lambda: F.triplet_margin_loss(x, t, t, margin=-1.5), lambda: F.triplet_margin_loss(x, t, t, reduction="u"),
        lambda: F.triplet_margin_loss(x, t, t, reduce=False),
        lambda: F.mse_loss(x, t, size_average=False), lambda: F.l1_loss(x, t, reduce=False),
        lambda: nn.MultiMarginLoss(p=3), lambda: nn.MultiMarginLoss(weight=torch.ones(2, 2)),
        lambda: nn.TripletMarginLoss(margin=-1), lambda: nn.TripletMarginLoss(margin=0.0),
        lambda: nn.SoftMarginLoss(size_average=False).reduction, lambda: nn.MSELoss(reduce=False).reduction,
        lambda: nn.KLDivLoss(size_average=True, reduce=False).reduction,
        lambda: nn.MultiLabelSoftMarginLoss(size_average=False).reduction,
        lambda: nn.KLDivLoss()(x, t),
    ]
    lines = []
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = call()
                lines.append(chain(result) if isinstance(result, torch.Tensor) else repr(result))
            except Exception as error:  # noqa: BLE001
                lines.append(f"{type(error).__name__}: {error}")
        lines += [f"  warning: {w.category.__name__}: {w.message}" for w in caught]
    return lines


def test_errors_and_warnings_as_torch(torch):
    ours, theirs = errors(gradstudio), errors(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a == b


def test_double_backward_as_torch(torch):
    """Gradients of gradients (create_graph=True): through SoftMarginLossBackwardBackward0,
    log-sigmoid, xlogy and at::norm, and torch's NotImplemented node (and its error) for
    the multi-class and multi-label margin losses."""
    def run(lib):
        F = lib.nn.functional
        x = lib.tensor([[0.3, -1.2, 0.9, 0.1], [1.5, 0.2, -0.4, 0.8]], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([[1.1, 0.4, -0.2, 0.7], [-0.3, 0.9, 1.6, -1.0]], dtype=lib.float64, requires_grad=True)
        signs = lib.tensor([[1., -1., -1., 1.], [-1., 1., 1., -1.]], dtype=lib.float64)
        losses = [lambda: F.soft_margin_loss(x, signs), lambda: F.soft_margin_loss(x, signs, reduction="none").sum(),
                  lambda: F.multi_margin_loss(x, lib.tensor([2, 0]), p=2, margin=2.0),
                  lambda: F.multilabel_margin_loss(x, lib.tensor([[2, 0, -1, 0], [1, -1, 0, 0]])),
                  lambda: F.multilabel_soft_margin_loss(x, signs.clamp(0)),
                  lambda: F.kl_div(x, y.softmax(1), reduction="sum"),
                  lambda: F.pairwise_distance(x, y, p=3).sum(), lambda: F.triplet_margin_loss(x, y, y * 3, p=3, margin=3.0)]
        out = []
        for build in losses:
            loss = build()
            (g,) = lib.autograd.grad(loss, x, create_graph=True)
            out += [repr(loss), chain(g), g.grad_fn.name()]
            try:
                (gg,) = lib.autograd.grad((g * g).sum(), x, retain_graph=True)
                out.append(repr(gg))
            except RuntimeError as error:
                out.append(f"RuntimeError: {error}")
        return out
    ours, theirs = run(gradstudio), run(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a == b


def helpers(torch) -> list[str]:
    """What the compositions needed that is public too: torch.xlogy / Tensor.xlogy,
    F.logsigmoid, Tensor.clamp_min_ / clamp_max_."""
    F = torch.nn.functional
    a = torch.tensor([0., 1.5, 2., -1.], requires_grad=True)
    b = torch.tensor([0., 3., float("nan"), 0.5], requires_grad=True)
    out = [chain(torch.xlogy(a, b)), chain(a.xlogy(2.0)), chain(torch.xlogy(torch.tensor([0, 2]), torch.tensor([3, 4]))),
           chain(F.logsigmoid(a)), chain(F.logsigmoid(torch.tensor([-100., 100.], dtype=torch.float64))),
           chain((a * 1).clamp_min_(0.5)), chain((a * 1).clamp_max_(0.5))]
    (torch.xlogy(a, b.abs() + 1).sum() + F.logsigmoid(a).sum()).backward()
    out += [repr(a.grad), repr(b.grad)]
    try:
        torch.xlogy(torch.ones(2), torch.ones(3))
    except RuntimeError as error:
        out.append(str(error))
    return out


def test_helpers_as_torch(torch):
    assert helpers(gradstudio) == helpers(torch)
