"""A selection of nodes as JSON, and where a paste of it goes (no Qt here).

The fragment is the design's own file form cut down to the chosen nodes and the
links between them, so it pastes into the same document or another one. A
paste lands offset from the original and never exactly on top of any node; a
name already used in the target document gets a suffix, so the script written
from the design still has one variable per name.
"""
from __future__ import annotations

import json

from gradstudio.studio.design import FORMAT, VERSION, DesignError

MIME = "application/x-gradstudio-design-fragment"
OFFSET = (40.0, 40.0)
MAX_FRAGMENT_CHARS = 5_000_000


def fragment(design, node_ids) -> str:
    """The chosen nodes and the links between them, as JSON text."""
    chosen = [n for n in design.nodes if n in set(node_ids)]
    data = design.to_json()
    keep = set(chosen)
    nodes = [n for n in data["nodes"] if n["id"] in keep]
    links = [l for l in data["links"] if l[0] in keep and l[1] in keep]
    return json.dumps({"format": FORMAT + "-fragment", "version": VERSION, "nodes": nodes, "links": links},
                      allow_nan=False)


def read_fragment(text: str) -> dict:
    """The fragment in ``text``, checked for its shape (DesignError if it is not one)."""
    if not isinstance(text, str) or len(text) > MAX_FRAGMENT_CHARS:
        raise DesignError("the clipboard holds no GradStudio nodes")
    try:
        data = json.loads(text)
    except ValueError:
        raise DesignError("the clipboard holds no GradStudio nodes") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT + "-fragment":
        raise DesignError("the clipboard holds no GradStudio nodes")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise DesignError("these nodes were copied from a newer GradStudio")
    if not isinstance(data.get("nodes"), list) or not isinstance(data.get("links"), list):
        raise DesignError("the copied nodes are malformed")
    for raw in data["nodes"]:
        if not (isinstance(raw, dict) and isinstance(raw.get("id"), str) and isinstance(raw.get("kind"), str)):
            raise DesignError("the copied nodes are malformed")
    return data


def paste_plan(design, data: dict, offset=OFFSET) -> tuple:
    """``(nodes, links)`` to add: nodes as ``(old id, kind, fields)`` with positions
    moved by ``offset`` (further, until no node sits exactly there) and clashing
    names renamed; links as ``(old src, old dst, slot)``."""
    taken_positions = {tuple(n.position) for n in design.nodes.values()}
    raw_nodes = data["nodes"]
    dx, dy = offset
    shift = 1
    while any(_moved(raw, dx * shift, dy * shift) in taken_positions for raw in raw_nodes):
        shift += 1
    taken_names = {n.name for n in design.nodes.values() if n.name}
    nodes = []
    for raw in raw_nodes:
        name = raw.get("name") or ""
        if name in taken_names:
            name = _free_name(name, taken_names)
        if name:
            taken_names.add(name)
        params = raw.get("params") or []
        fields = {"name": name, "value": raw.get("value") or "", "dtype": raw.get("dtype") or "float32",
                  "requires_grad": raw.get("requires_grad") is True,
                  "position": _moved(raw, dx * shift, dy * shift)}
        if raw["kind"] == "op":
            fields.update(op=raw.get("op"), params={k: v for k, v in params if isinstance(k, str)})
        nodes.append((raw["id"], raw["kind"], fields))
    known = {raw["id"] for raw in raw_nodes}
    links = [tuple(l) for l in data["links"] if isinstance(l, list) and len(l) == 3
             and l[0] in known and l[1] in known and isinstance(l[2], int)]
    return nodes, links


def _moved(raw: dict, dx: float, dy: float) -> tuple:
    x, y = raw.get("position") or (0.0, 0.0)
    return (float(x) + dx, float(y) + dy)


def _free_name(name: str, taken: set) -> str:
    base = name.rstrip("0123456789").rstrip("_") or name
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"[:64]
