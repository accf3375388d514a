"""A layered, left-to-right drawing of a DAG, and collapsing of repetitive chains.

Owns the geometry of the Graph panel, as pure functions on plain data (vertex
ids, their inputs, labels, sizes) — no Qt, no graphviz. Inputs go on the
left, the root on the right. The method is Sugiyama's:

1. **Layers.** Longest path from the sources, then a few passes of the local
   move of network simplex: a vertex with more outgoing than incoming edges
   slides right (a constant sits next to the op that uses it, not in column 0),
   one with more incoming slides left, each within its neighbours' layers.
2. **Dummy vertices** split every edge that spans several layers, so long
   edges take part in ordering and get bends of their own.
3. **Order within layers**: a depth-first order from the root (inputs in
   argument order), then barycenter sweeps down and up; the order with the
   fewest crossings (counted exactly, Barth–Jünger–Mutzel) is kept.
4. **Coordinates**: columns as wide as their widest vertex; in each column the
   vertical positions are the weighted least-squares fit to the neighbours'
   positions that keeps the order and the gaps (isotonic regression, pool
   adjacent violators). Edges between dummies weigh most (long edges run
   straight), constants least, so chains stay straight lines.

**Chain collapsing** (:func:`find_groups`, :func:`collapse`): a run of ≥ 4
repetitions of the same op (or the same short motif of up to 3 ops), each
step feeding only the next — the tutorial's ``y = y * 2`` loop — becomes one
group vertex, ``MulBackward0 × 1000``, which can be expanded again. Named
vertices (script variables) are never hidden inside a group.

**Module calls** (:func:`module_groups`): each ``nn.Module`` call the session
recorded is a group too, ``Linear(3→1)``, shown expanded (a frame) until the
user collapses it. Groups nest (``Sequential`` around ``Linear``); a chain that
would cut across a module call is not offered.

Everything is deterministic: the same input gives the same output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from heapq import heapify, heappop, heappush
from typing import Hashable, Iterable, NamedTuple, Sequence

MIN_REPEATS = 4            # a run of fewer repetitions stays as it is
MAX_PERIOD = 3             # longest motif that counts as "the same step repeated"
DEFAULT_SIZE = (80.0, 30.0)


# --------------------------------------------------------------------------- data
class Vertex(NamedTuple):
    """What the layout needs to know about one vertex (a tuple: thousands are made per graph)."""

    id: Hashable
    inputs: tuple = ()          # ids of its arguments, in argument order (repeats allowed: x * x)
    label: str = ""             # what makes two chain steps "the same op" (the grad_fn name)
    kind: str = "op"            # "op" | "leaf" | "const" | "group"
    name: str | None = None     # a script variable's name; named vertices stay visible


@dataclass(frozen=True)
class Group:
    """A collapsible set of vertices: a run of a repeated step (``kind`` "chain"),
    or one module call (``kind`` "module", ``title`` its label, ``name`` the
    module's qualified name)."""

    id: str
    steps: tuple                # the op vertices, in data-flow order
    members: tuple              # steps + the constants (a chain) or parameters (a module) only they use
    motif: tuple = ()           # the labels of one repetition
    repeats: int = 1
    kind: str = "chain"
    title: str | None = None
    name: str | None = None
    depth: int = 0              # a module call made inside another module's call: 1, …

    @property
    def label(self) -> str:
        if self.title is not None:
            return self.title
        return f"{' → '.join(self.motif)} × {self.repeats}"

    @property
    def first(self):
        return self.steps[0]

    @property
    def last(self):
        return self.steps[-1]


@dataclass
class EdgeRoute:
    """One argument edge: ``source`` feeds input number ``slot`` of ``target``.
    ``points`` run from the source's centre through the bends to the target's centre."""

    source: Hashable
    target: Hashable
    slot: int
    points: list


@dataclass
class Layout:
    positions: dict = field(default_factory=dict)   # id -> (x, y) of the centre
    sizes: dict = field(default_factory=dict)       # id -> (width, height)
    layers: dict = field(default_factory=dict)      # id -> column index (0 = leftmost)
    order: list = field(default_factory=list)       # per column, the ids from top to bottom
    edges: list = field(default_factory=list)       # [EdgeRoute]
    crossings: int = 0                              # edge crossings between adjacent columns
    width: float = 0.0
    height: float = 0.0

    def rect(self, vertex) -> tuple:
        """(left, top, right, bottom) of a vertex."""
        (x, y), (w, h) = self.positions[vertex], self.sizes[vertex]
        return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def vertices_from_graph(graph: dict | None) -> list:
    """:class:`Vertex` list from a recorded graph (``gradstudio.studio.kernel.records.graph_data``)."""
    if not graph or not graph.nodes:
        return []
    return [Vertex(n.id, tuple(n.inputs or ()), n.grad_fn or n.label or "",
                   n.kind or "op", n.name) for n in graph.nodes]


# --------------------------------------------------------------------------- chain collapsing
def find_groups(vertices: Sequence[Vertex], min_repeats: int = MIN_REPEATS,
                max_period: int = MAX_PERIOD) -> list:
    """The runs worth collapsing, in data-flow order.

    A *spine link* p → v: p is an op whose only consumer is v, and p is v's
    only op input that is used nowhere else. Following links gives spines;
    along each spine, maximal runs of a motif of 1…``max_period`` labels
    repeated at least ``min_repeats`` times become groups. A named vertex ends
    a run (it stays visible), and so does a vertex of another kind."""
    by_id = {v.id: v for v in vertices}
    consumers: dict = {v.id: [] for v in vertices}
    for v in vertices:
        for i in dict.fromkeys(v.inputs):          # x * x uses x once, as far as links go
            if i in consumers:
                consumers[i].append(v.id)
    prev: dict = {}
    for v in vertices:
        if v.kind != "op":
            continue
        linked = [i for i in dict.fromkeys(v.inputs)
                  if i in by_id and by_id[i].kind == "op" and consumers[i] == [v.id]]
        if len(linked) == 1:
            prev[v.id] = linked[0]
    nxt = {p: v for v, p in prev.items()}
    groups = []
    for v in vertices:
        if v.id in prev or v.id not in nxt:
            continue                               # not the head of a spine of ≥ 2
        spine = [v.id]
        while spine[-1] in nxt:
            spine.append(nxt[spine[-1]])
        for segment in _unnamed_segments(spine, by_id):
            for start, period, repeats in _runs([by_id[s].label for s in segment], min_repeats, max_period):
                steps = tuple(segment[start:start + period * repeats])
                groups.append(_group(steps, period, repeats, by_id, consumers))
    return groups


def _unnamed_segments(spine: list, by_id: dict) -> list:
    segments, current = [], []
    for s in spine:
        if by_id[s].name:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(s)
    if current:
        segments.append(current)
    return segments


def _runs(labels: list, min_repeats: int, max_period: int) -> list:
    """(start, period, repeats) of maximal repeated motifs, left to right, greedy."""
    found, i, n = [], 0, len(labels)
    while i < n:
        best = None
        for period in range(1, max_period + 1):
            if i + period * min_repeats > n:
                break
            motif = labels[i:i + period]
            if period > 1 and _is_periodic(motif):
                continue
            end = i + period
            while end < n and labels[end] == labels[end - period]:
                end += 1
            repeats = (end - i) // period
            if repeats >= min_repeats and (best is None or repeats * period > best[1] * best[2]):
                best = (i, period, repeats)
        if best is None:
            i += 1
        else:
            found.append(best)
            i = best[0] + best[1] * best[2]
    return found


def _is_periodic(motif: list) -> bool:
    n = len(motif)
    return any(n % p == 0 and motif == motif[:p] * (n // p) for p in range(1, n))


def _group(steps: tuple, period: int, repeats: int, by_id: dict, consumers: dict) -> Group:
    inside = set(steps)
    constants = []
    for s in steps:
        for i in dict.fromkeys(by_id[s].inputs):
            if (i in by_id and by_id[i].kind == "const" and not by_id[i].name
                    and i not in inside and all(c in inside for c in consumers[i])):
                inside.add(i)
                constants.append(i)
    motif = tuple(by_id[s].label for s in steps[:period])
    return Group(f"group:{steps[0]}", steps, steps + tuple(constants), motif, repeats)


def module_groups(vertices: Sequence[Vertex], calls: Iterable) -> list:
    """:class:`Group` per recorded module call (``CallData.groups``: label, name,
    ops, params, depth) whose ops are vertices here, in the order given."""
    known = {v.id for v in vertices}
    found = []
    for index, call in enumerate(calls):
        steps = tuple(sorted(v for v in call.ops if v in known))
        if not steps:
            continue
        params = tuple(v for v in call.params if v in known and v not in steps)
        found.append(Group(f"module:{index}", steps, steps + params, kind="module", title=call.label,
                           name=call.name, depth=call.depth))
    return found


def nested(chains: Iterable[Group], modules: Sequence[Group]) -> list:
    """The chain groups that nest with every module group (inside it, around it or
    apart from it): a chain cutting across a module call would hide half of it."""
    sets = [set(m.members) for m in modules]
    kept = []
    for chain in chains:
        members = set(chain.members)
        if all(members <= m or m <= members or not (members & m) for m in sets):
            kept.append(chain)
    return kept


def collapse(vertices: Sequence[Vertex], groups: Iterable[Group], expanded: Iterable = ()) -> tuple:
    """The graph with every group not in ``expanded`` (group ids) as one vertex.

    Groups may nest; a collapsed group hides the groups inside it, whether they
    are expanded or not. Returns ``(vertices, owner)``: the visible vertices (a
    group vertex takes the place of its last step, with its outside inputs,
    de-duplicated) and ``owner`` mapping each hidden vertex id to the id of the
    outermost collapsed group holding it."""
    expanded = set(expanded)
    owner: dict = {}
    shown_groups = {}
    for group in sorted(groups, key=lambda g: -len(g.members)):     # outer groups first
        if group.id in expanded or any(m in owner for m in group.members):
            continue
        shown_groups[group.last] = group
        for m in group.members:
            owner[m] = group.id
    if not owner:
        return list(vertices), {}
    external: dict = {g.id: [] for g in shown_groups.values()}
    for v in vertices:
        gid = owner.get(v.id)
        if gid is not None:
            for i in v.inputs:
                i = owner.get(i, i)
                if i != gid:
                    external[gid].append(i)
    out = []
    for v in vertices:
        group = shown_groups.get(v.id)
        if group is not None:
            out.append(Vertex(group.id, tuple(dict.fromkeys(external[group.id])), group.label, "group"))
        elif v.id not in owner:
            if any(i in owner for i in v.inputs):
                v = Vertex(v.id, tuple(owner.get(i, i) for i in v.inputs), v.label, v.kind, v.name)
            out.append(v)
    return out, owner


# --------------------------------------------------------------------------- layout
def layout(vertices: Sequence[Vertex], sizes=None, *, layer_gap: float = 56.0, node_gap: float = 16.0,
           sweeps: int = 12, weights: dict | None = None, margin: float = 0.0,
           dummy_budget: int | None = None) -> Layout:
    """Place ``vertices`` left to right (inputs left). ``sizes``: id → (w, h), or a
    function of the :class:`Vertex`; ``weights``: id → how strongly a vertex pulls
    its neighbours into line (default 1, constants 0.25). ``sweeps=0`` keeps
    the depth-first order (no crossing reduction). ``dummy_budget`` bounds the
    bend points of long edges (default max(2000, 3·n))."""
    n = len(vertices)
    if n == 0:
        return Layout()
    ids = [v.id for v in vertices]
    index = {vid: k for k, vid in enumerate(ids)}
    size = _size_list(vertices, sizes)
    weight = [(weights or {}).get(v.id, 0.25 if v.kind == "const" else 1.0) for v in vertices]

    # edges: argument occurrences, and the unique pairs that get layered and routed
    slots = []                       # (source index, target index, slot)
    for t, v in enumerate(vertices):
        for s, i in enumerate(v.inputs):
            k = index.get(i)
            if k is not None and k != t:
                slots.append((k, t, s))
    order = _topological(n, slots)
    position_in_order = [0] * n
    for p, k in enumerate(order):
        position_in_order[k] = p
    pairs = list(dict.fromkeys((a, b) for a, b, _ in slots if position_in_order[a] < position_in_order[b]))
    preds = [[] for _ in range(n)]
    succs = [[] for _ in range(n)]
    for a, b in pairs:
        preds[b].append(a)
        succs[a].append(b)

    layer = _layers(n, order, preds, succs)

    # dummies: a long edge runs along its source's trunk, one dummy per column
    # shared by all the source's long edges (x feeding every step of a loop costs
    # one row, not one per step); shortest edges first, within a budget — the
    # longest edges beyond it are drawn direct and left out of the ordering
    total = n
    node_layer = list(layer)
    up = [list(p) for p in preds]          # augmented graph: predecessors in input order
    down = [[] for _ in range(n)]
    trunk: dict = {}                       # source -> its dummies, column by column
    budget = dummy_budget if dummy_budget is not None else max(2000, 3 * n)
    free = set()
    for a, b in sorted(pairs, key=lambda e: (layer[e[1]] - layer[e[0]], e)):
        span = layer[b] - layer[a]
        if span <= 1:
            down[a].append(b)
            continue
        chain = trunk.setdefault(a, [])
        need = span - 1 - len(chain)
        if need > budget:
            free.add((a, b))
            continue
        for _ in range(max(0, need)):
            d = total
            total += 1
            node_layer.append(layer[a] + 1 + len(chain))
            up.append([chain[-1] if chain else a])
            down.append([])
            down[chain[-1] if chain else a].append(d)
            chain.append(d)
        budget -= max(0, need)
        down[chain[span - 2]].append(b)
    for b in range(n):
        up[b] = [trunk[a][layer[b] - layer[a] - 2] if layer[b] - layer[a] > 1 else a
                 for a in up[b] if (a, b) not in free]

    n_layers = max(node_layer) + 1
    columns = _initial_order(total, n, node_layer, up, n_layers, vertices, index)
    crossings = _count_all(columns, down)
    if sweeps > 0 and crossings:
        columns, crossings = _reduce_crossings(columns, up, down, sweeps, crossings)

    # coordinates
    is_dummy = lambda k: k >= n  # noqa: E731
    col_width = [0.0] * n_layers
    for k in range(n):
        col_width[node_layer[k]] = max(col_width[node_layer[k]], size[k][0])
    x_left, x = [], margin
    for w in col_width:
        x_left.append(x)
        x += w + layer_gap
    height = [size[k][1] if k < n else 0.0 for k in range(total)]
    pull = weight + [1.0] * (total - n)
    tier = [_TIER.get(v.kind, 2) for v in vertices] + [0] * (total - n)
    for a, chain in trunk.items():          # a long edge ranks as its source does
        for d in chain:
            tier[d] = tier[a]
    y = _assign_y(columns, up, down, height, pull, tier, is_dummy, node_gap)

    top = min(y[k] - height[k] / 2 for k in range(total))
    result = Layout(crossings=crossings)
    for k in range(n):
        layer_k = node_layer[k]
        result.positions[ids[k]] = (x_left[layer_k] + col_width[layer_k] / 2, y[k] - top + margin)
        result.sizes[ids[k]] = size[k]
        result.layers[ids[k]] = layer_k
    result.order = [[ids[k] for k in column if k < n] for column in columns]
    for a, b, s in slots:
        span = layer[b] - layer[a]
        routed = span > 1 and (a, b) not in free and position_in_order[a] < position_in_order[b]
        chain = trunk[a][:span - 1] if routed else []
        points = [result.positions[ids[a]]]
        points += [(x_left[node_layer[d]] + col_width[node_layer[d]] / 2, y[d] - top + margin) for d in chain]
        points.append(result.positions[ids[b]])
        result.edges.append(EdgeRoute(ids[a], ids[b], s, points))
    result.width = x - layer_gap + margin
    result.height = max(y[k] + height[k] / 2 for k in range(total)) - top + 2 * margin
    return result


def _size_list(vertices, sizes) -> list:
    if sizes is None:
        return [DEFAULT_SIZE] * len(vertices)
    if callable(sizes):
        return [tuple(sizes(v)) for v in vertices]
    return [tuple(sizes.get(v.id, DEFAULT_SIZE)) for v in vertices]


def _topological(n: int, slots: list) -> list:
    """Vertex indices inputs-first, as close to the given order as the edges allow;
    vertices on a cycle follow in the given order (their back edges are ignored)."""
    if all(a < b for a, b, _ in slots):
        return list(range(n))
    indegree = [0] * n
    outs = [[] for _ in range(n)]
    for a, b in dict.fromkeys((a, b) for a, b, _ in slots):
        indegree[b] += 1
        outs[a].append(b)
    heap = [k for k in range(n) if indegree[k] == 0]
    heapify(heap)
    order, seen = [], [False] * n
    while len(order) < n:
        if not heap:                     # a cycle: release the first vertex left
            k = next(k for k in range(n) if not seen[k])
            indegree[k] = 0
            heappush(heap, k)
        k = heappop(heap)
        if seen[k]:
            continue
        seen[k] = True
        order.append(k)
        for b in outs[k]:
            indegree[b] -= 1
            if indegree[b] == 0 and not seen[b]:
                heappush(heap, b)
    return order


def _layers(n: int, order: list, preds: list, succs: list) -> list:
    """Longest path from the sources, then local moves that shorten edges."""
    layer = [0] * n
    for k in order:
        if preds[k]:
            layer[k] = 1 + max(layer[p] for p in preds[k])
    for _ in range(3):
        moved = False
        for k in reversed(order):                  # right-movers: constants, shared inputs
            if len(succs[k]) > len(preds[k]):
                best = min(layer[s] for s in succs[k]) - 1
                if best > layer[k]:
                    layer[k], moved = best, True
        for k in order:                            # left-movers
            if preds[k] and len(preds[k]) > len(succs[k]):
                best = max(layer[p] for p in preds[k]) + 1
                if best < layer[k]:
                    layer[k], moved = best, True
        if not moved:
            break
    low = min(layer)
    return [v - low for v in layer]


def _initial_order(total, n, node_layer, up, n_layers, vertices, index) -> list:
    """Columns in depth-first preorder from the sinks (last first), inputs in argument order."""
    has_consumer = [False] * total
    for k in range(total):
        for p in up[k]:
            has_consumer[p] = True
    seen = [False] * total
    rank = [0] * total
    counter = 0
    sinks = [k for k in range(n - 1, -1, -1) if not has_consumer[k]]
    for start in sinks + list(range(total)):
        if seen[start]:
            continue
        stack = [start]
        while stack:
            k = stack.pop()
            if seen[k]:
                continue
            seen[k] = True
            rank[k] = counter
            counter += 1
            stack.extend(p for p in reversed(up[k]) if not seen[p])
    columns = [[] for _ in range(n_layers)]
    for k in sorted(range(total), key=rank.__getitem__):
        columns[node_layer[k]].append(k)
    return columns


def _count_pair(upper: list, lower: list, down) -> int:
    """Crossings between two adjacent columns (inversions, with a Fenwick tree);
    ``down[k]`` lists the vertices k feeds."""
    pos = {k: i for i, k in enumerate(lower)}
    targets = []
    for k in upper:
        targets.extend(sorted(pos[t] for t in down[k] if t in pos))
    size = len(lower)
    tree = [0] * (size + 1)
    crossings = 0
    seen = 0
    for t in targets:
        # elements already seen that are greater than t
        i, smaller_or_equal = t + 1, 0
        while i > 0:
            smaller_or_equal += tree[i]
            i -= i & -i
        crossings += seen - smaller_or_equal
        i = t + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
        seen += 1
    return crossings


def _count_all(columns: list, down: list) -> int:
    return sum(_count_pair(columns[l], columns[l + 1], down) for l in range(len(columns) - 1))


def count_crossings(result: Layout, vertices: Sequence[Vertex]) -> int:
    """Crossings of straight edges between adjacent columns of a finished layout,
    counting only edges between adjacent columns (long edges count through their
    bends in :attr:`Layout.crossings`)."""
    down: dict = {v: [] for column in result.order for v in column}
    for v in vertices:
        for i in dict.fromkeys(v.inputs):
            if i in result.layers and result.layers[v.id] == result.layers[i] + 1:
                down[i].append(v.id)
    return sum(_count_pair(result.order[l], result.order[l + 1], down)
               for l in range(len(result.order) - 1))


def _reduce_crossings(columns, up, down, sweeps, crossings) -> tuple:
    best, best_crossings = [list(c) for c in columns], crossings
    position = {}
    for column in columns:
        for i, k in enumerate(column):
            position[k] = i
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        span = range(1, len(columns)) if downward else range(len(columns) - 2, -1, -1)
        for l in span:
            neighbours = up if downward else down
            column = columns[l]
            keys = {}
            for i, k in enumerate(column):
                adjacent = neighbours[k]
                if adjacent:
                    keys[k] = (sum(position[a] for a in adjacent) / len(adjacent), i)
                else:
                    keys[k] = (float(i), i)         # no anchor: stay put
            column.sort(key=keys.__getitem__)
            for i, k in enumerate(column):
                position[k] = i
        crossings = _count_all(columns, down)
        if crossings < best_crossings:
            best, best_crossings = [list(c) for c in columns], crossings
            if crossings == 0:
                break
    return best, best_crossings


ANCHOR = 1e6      # how much more a chain link weighs than an ordinary edge
_TIER = {"op": 2, "group": 2, "leaf": 1, "const": 0}   # which input a vertex lines up with


def _assign_y(columns, up, down, height, pull, tier, is_dummy, gap) -> list:
    """Vertical centres: alternate sweeps pulling each vertex towards its
    neighbours' weighted mean, each column solved exactly (order and gaps kept).

    A *chain link* a → b holds b level with a: a feeds nothing but b, and a is
    b's only input of the highest tier present (ops over leaves and long edges,
    those over constants). Links outweigh everything else, so side inputs step
    aside and chains — a loop, a network's forward pass — come out straight."""
    total = len(height)
    y = [0.0] * total
    for column in columns:                    # start packed, centred on 0
        offset = 0.0
        for i, k in enumerate(column):
            if i:
                offset += _separation(column[i - 1], k, height, is_dummy, gap)
            y[k] = offset
        shift = offset / 2
        for k in column:
            y[k] -= shift

    # chain links: b lines up with its only best-tier input a; an input feeding several
    # such b continues into the one with the most vertices still ahead of it (the
    # spine), counting real vertices only — a long edge is one step, however long.
    # Links never cross (Brandes–Köpf's rule), so the blocks they make can all be level.
    togo = [0] * total
    for column in reversed(columns):
        for k in column:
            togo[k] = (0 if is_dummy(k) else 1) + max((togo[d] for d in down[k]), default=0)
    position = {}
    for column in columns:
        for i, k in enumerate(column):
            position[k] = i
    chosen: dict = {}                          # a -> the b it continues into
    for column in columns:
        for b in column:
            best = max((tier[a] for a in up[b]), default=0)
            heavy = [a for a in up[b] if tier[a] == best] if best > 0 else []
            if len(heavy) == 1:
                a = heavy[0]
                if a not in chosen or togo[b] > togo[chosen[a]]:
                    chosen[a] = b
    anchor_up = [None] * total
    anchor_down = [None] * total
    block = list(range(total))
    for column in columns:
        last = -1
        for b in column:
            a = next((a for a in up[b] if chosen.get(a) == b), None)
            if a is not None and position[a] > last:
                anchor_up[b], anchor_down[a] = a, b
                block[b] = block[a]
                last = position[a]
    members: dict = {}
    for k in range(total):
        members.setdefault(block[k], []).append(k)
    blocks = [b for b, m in members.items() if len(m) > 1]

    def edge_weight(a, b):
        if is_dummy(a) and is_dummy(b):
            return 8.0
        if is_dummy(a) or is_dummy(b):
            return 2.0
        return 1.0

    def block_targets() -> dict:
        """Where each chain would like to be: the weighted mean of everything
        attached to any of its vertices from outside it."""
        targets = {}
        for b in blocks:
            total_w = total_y = 0.0
            for m in members[b]:
                for lists in (up, down):
                    for a in lists[m]:
                        if block[a] != b:
                            w = edge_weight(a, m) * pull[a]
                            total_w += w
                            total_y += w * y[a]
            targets[b] = total_y / total_w if total_w else y[members[b][0]]
        return targets

    def sweep(span, neighbour_lists):
        targets = block_targets()
        for l in span:
            column = columns[l]
            if not column:
                continue
            desired, weights = [], []
            for k in column:
                if block[k] in targets:             # longer chains are stiffer: short ones give way
                    desired.append(targets[block[k]])
                    weights.append(ANCHOR * len(members[block[k]]) ** 2)
                    continue
                total_w = total_y = 0.0
                for lists in neighbour_lists:
                    for a in lists[k]:
                        w = edge_weight(a, k) * pull[a]
                        total_w += w
                        total_y += w * y[a]
                if total_w:
                    desired.append(total_y / total_w)
                    weights.append(pull[k] * (1.0 + total_w))
                else:
                    desired.append(y[k])
                    weights.append(0.05)
            gaps = [_separation(column[i], column[i + 1], height, is_dummy, gap)
                    for i in range(len(column) - 1)]
            for k, value in zip(column, _fit_ordered(desired, weights, gaps)):
                y[k] = value

    n_cols = len(columns)
    for _ in range(4):
        sweep(range(1, n_cols), (up,))
        sweep(range(n_cols - 2, -1, -1), (down,))
    sweep(range(n_cols), (up, down))
    return y


def _separation(a, b, height, is_dummy, gap) -> float:
    """Centre-to-centre distance of neighbours in a column: an edge passing a
    vertex keeps most of a gap from it; two edges pass closer."""
    dummies = is_dummy(a) + is_dummy(b)
    extra = gap if dummies == 0 else (0.75 * gap if dummies == 1 else 0.5 * gap)
    return (height[a] + height[b]) / 2 + extra


def _fit_ordered(desired: list, weights: list, gaps: list) -> list:
    """argmin Σ wᵢ(yᵢ − dᵢ)² subject to yᵢ₊₁ − yᵢ ≥ gapᵢ (pool adjacent violators)."""
    offsets = [0.0]
    for g in gaps:
        offsets.append(offsets[-1] + g)
    blocks = []                       # [weight sum, weighted target sum, count]
    for d, w, c in zip(desired, weights, offsets):
        blocks.append([w, w * (d - c), 1])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][0] > blocks[-1][1] / blocks[-1][0]:
            w2, s2, n2 = blocks.pop()
            blocks[-1][0] += w2
            blocks[-1][1] += s2
            blocks[-1][2] += n2
    result, i = [], 0
    for w, s, count in blocks:
        value = s / w
        for _ in range(count):
            result.append(value + offsets[i])
            i += 1
    return result


# --------------------------------------------------------------------------- checks used by tests
def overlaps(result: Layout, pad: float = 0.0) -> list:
    """Pairs of vertices whose rectangles overlap (in the same column; columns never overlap)."""
    found = []
    for column in result.order:
        boxes = sorted((result.rect(v)[1], result.rect(v)[3], v) for v in column)
        for (t1, b1, v1), (t2, b2, v2) in zip(boxes, boxes[1:]):
            if t2 < b1 + pad - 1e-6:
                found.append((v1, v2))
    return found


__all__ = ["Vertex", "Group", "EdgeRoute", "Layout", "vertices_from_graph", "find_groups", "collapse",
           "layout", "count_crossings", "overlaps", "MIN_REPEATS"]
