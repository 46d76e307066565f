"""Drawing graphs: Graphviz ``dot`` source, and SVG (Graphviz, or a built-in layout).

>>> import numpy as np, gradlab as gl
>>> g = gl.capture(lambda x: np.sum(np.tanh(x) * x), np.ones(3))
>>> print(g.to_dot().splitlines()[3])
  v0 [label="x\\nf64[3]", shape=ellipse];
>>> g.to_svg().startswith("<svg")
True

Inputs are ellipses, constants grey boxes, equations boxes labelled with the
primitive and the result's type; edges run from operands to their equation. The
built-in layout puts each equation one layer below its deepest operand and spreads
each layer evenly: enough for the small graphs one draws.
"""

from __future__ import annotations

import html
import shutil
import subprocess

from .printing import aval_text, is_literal, value_names


def _nodes(graph):
    """``[(node key, label, kind, operand keys)]`` in order; an equation is one node."""
    names = value_names(graph)
    source = {}
    out = []
    for v, name in zip(graph.inputs, graph.input_names):
        source[v] = f"v{v}"
        out.append((f"v{v}", f"{name}\\n{aval_text(graph.avals[v])}", "input", []))
    for v, c in graph.consts.items():
        if is_literal(c):
            continue  # scalars are written into their equation's label
        source[v] = f"v{v}"
        out.append((f"v{v}", f"const {names[v]}\\n{aval_text(graph.avals[v])}", "const", []))
    for n, e in enumerate(graph.eqns):
        key = f"e{n}"
        for o in e.outputs:
            source[o] = key
        results = ", ".join(f"{names[o]}:{aval_text(graph.avals[o])}" for o in e.outputs)
        literals = "".join(f" {names[i]}" for i in e.inputs if i not in source)
        out.append((key, f"{e.primitive.name}{literals}\\n{results}", "eqn",
                    [source[i] for i in e.inputs if i in source]))
    return out, [source[o] for o in graph.outputs]


def to_dot(graph) -> str:
    """Graphviz source: ``dot -Tsvg`` draws it."""
    nodes, outputs = _nodes(graph)
    lines = ["digraph graph {", "  rankdir=TB;", '  node [fontname="monospace", fontsize=10];']
    style = {"input": "shape=ellipse", "const": "shape=box, style=filled, fillcolor=lightgrey",
             "eqn": "shape=box, style=rounded"}
    for key, label, kind, _ in nodes:
        lines.append(f'  {key} [label="{label}", {style[kind]}];')
    for key, _, _, operands in nodes:
        for op in operands:
            lines.append(f"  {op} -> {key};")
    for k, o in enumerate(outputs):
        lines.append(f'  out{k} [label="output {k}", shape=plaintext];')
        lines.append(f"  {o} -> out{k};")
    lines.append("}")
    return "\n".join(lines)


def to_svg(graph, path=None, use_graphviz: bool = True) -> str:
    """SVG text of the graph (written to ``path`` when given)."""
    svg = None
    if use_graphviz and shutil.which("dot"):
        proc = subprocess.run(["dot", "-Tsvg"], input=to_dot(graph), capture_output=True,
                              text=True, timeout=60)
        if proc.returncode == 0:
            svg = proc.stdout[proc.stdout.find("<svg"):]
    if svg is None:
        svg = layered_svg(graph)
    if path is not None:
        with open(path, "w") as f:
            f.write(svg)
    return svg


def layered_svg(graph) -> str:
    """The built-in layout: layers by depth, nodes spread evenly, straight edges."""
    nodes, outputs = _nodes(graph)
    depth: dict[str, int] = {}
    for key, _, _, operands in nodes:
        depth[key] = 1 + max((depth[o] for o in operands), default=-1)
    layers: dict[int, list] = {}
    for key, *_ in nodes:
        layers.setdefault(depth[key], []).append(key)
    w, h, gap_x, gap_y = 150, 36, 20, 34
    width = max(len(v) for v in layers.values()) * (w + gap_x) + gap_x
    pos = {}
    for d, keys in layers.items():
        offset = (width - len(keys) * (w + gap_x) + gap_x) / 2
        for k, key in enumerate(keys):
            pos[key] = (offset + k * (w + gap_x), gap_y + d * (h + gap_y))
    height = (max(layers) + 1) * (h + gap_y) + gap_y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
             f'height="{height:.0f}" font-family="monospace" font-size="10">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
             'markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/>'
             '</marker></defs>']
    for key, _, _, operands in nodes:
        x, y = pos[key]
        for op in operands:
            ox, oy = pos[op]
            parts.append(f'<line x1="{ox + w / 2:.0f}" y1="{oy + h:.0f}" x2="{x + w / 2:.0f}" '
                         f'y2="{y:.0f}" stroke="#555" marker-end="url(#arrow)"/>')
    fill = {"input": "#dbeafe", "const": "#e5e7eb", "eqn": "#ffffff"}
    outs = set(outputs)
    for key, label, kind, _ in nodes:
        x, y = pos[key]
        rx = h / 2 if kind == "input" else 6
        stroke = ' stroke-width="2.5"' if key in outs else ""
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{w}" height="{h}" rx="{rx:.0f}" '
                     f'fill="{fill[kind]}" stroke="#333"{stroke}/>')
        for k, line in enumerate(label.split("\\n")):
            parts.append(f'<text x="{x + w / 2:.0f}" y="{y + 15 + 12 * k:.0f}" '
                         f'text-anchor="middle">{html.escape(line[:24])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
