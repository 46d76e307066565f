"""SVG of a dual trace: one row per decision, coloured by how well soft and hard agree.

Each row spells its status in words next to its colour (no legend to hunt for): the
decision, where it is, its temperature, a bar showing the weight the soft program puts
on the hard program's path, and the output gap.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

COLOURS = {"agrees": "#2e7d32", "close": "#f9a825", "differs": "#c62828",
           "hard": "#1565c0", "unmeasured": "#757575"}
ROW, WIDTH, BAR_X, BAR_W = 34, 920, 470, 220


def _short(where: str) -> str:
    head, _, line = where.rpartition(":")
    return f"{head.rsplit('/', 1)[-1]}:{line}" if head else where


def _num(x, fmt="{:.3g}") -> str:
    return "-" if x is None else fmt.format(x)


def _row(y: int, d) -> list[str]:
    colour = COLOURS[d.status]
    agree = d.agreement if d.agreement is not None else 0.0
    label = escape(f"{d.index}. {d.kind} {d.name}")
    info = escape(f"{_short(d.where)} | T={_num(d.temperature)} | {d.contract}")
    return [
        f'<rect x="8" y="{y}" width="{WIDTH - 16}" height="{ROW - 4}" rx="4" '
        f'fill="{colour}" fill-opacity="0.12" stroke="{colour}"/>',
        f'<rect x="14" y="{y + 6}" width="10" height="{ROW - 16}" fill="{colour}"/>',
        f'<text x="32" y="{y + 13}" font-size="12" font-weight="bold">{label}</text>',
        f'<text x="32" y="{y + 26}" font-size="10" fill="#333">{info}</text>',
        f'<rect x="{BAR_X}" y="{y + 8}" width="{BAR_W}" height="{ROW - 20}" fill="#e0e0e0"/>',
        f'<rect x="{BAR_X}" y="{y + 8}" width="{BAR_W * max(0.0, min(1.0, agree)):.1f}" '
        f'height="{ROW - 20}" fill="{colour}"/>',
        f'<text x="{BAR_X + BAR_W + 10}" y="{y + 20}" font-size="12">'
        f'agree {_num(d.agreement, "{:.0%}")} | gap {_num(d.gap)} | '
        f'<tspan fill="{colour}" font-weight="bold">{d.status}</tspan></text>',
    ]


def trace_svg(trace) -> str:
    """The SVG document (a string) for ``trace`` (a ``SoftTrace``)."""
    rows = trace.decisions
    height = 56 + ROW * max(1, len(rows)) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        '<text x="12" y="22" font-size="16" font-weight="bold">Soft decisions: soft vs hard'
        '</text>',
        f'<text x="12" y="40" font-size="11" fill="#333">bar = weight on the hard path; '
        f'gap = max |soft - hard|; <tspan fill="{COLOURS["agrees"]}">agrees</tspan> '
        f'(gap &lt; 5%), <tspan fill="{COLOURS["close"]}">close</tspan> (&lt; 25%), '
        f'<tspan fill="{COLOURS["differs"]}">differs</tspan>, '
        f'<tspan fill="{COLOURS["hard"]}">hard</tspan> (not relaxed: no gradient through it)'
        '</text>',
    ]
    if not rows:
        parts.append('<text x="12" y="70" font-size="12">no decision recorded</text>')
    for i, d in enumerate(rows):
        parts.extend(_row(52 + i * ROW, d))
    parts.append("</svg>")
    return "\n".join(parts)
