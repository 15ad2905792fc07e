"""Charts drawn on the server as inline SVG: they print, need no JavaScript and no external
asset, and use presentation attributes only (no inline styles, so the CSP stays strict)."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#1b6ca8", "#e07b39", "#3a9d5d", "#b8403a", "#7d5ba6", "#8c8c8c")
TIER_COLOURS = {1: "#9cc5a1", 2: "#c9dd8a", 3: "#f2c14e", 4: "#e07b39", 5: "#b8403a"}


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str = PALETTE[0]


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    value_format: str = "{:,.0f}",
    width: int = 640,
    height: int = 260,
) -> SafeString:
    """Grouped vertical bars, one group per category, one bar per series, values on top."""
    left, bottom, top = 48, 40, 28
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max((v for s in series for v in s.values), default=0) or 1
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [_open(width, height, title), _text(left, 18, title, "start", weight="bold")]
    parts.append(_line(left, top + plot_h, left + plot_w, top + plot_h))
    for i, category in enumerate(categories):
        x0 = left + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / peak
            x, y = x0 + j * bar_w, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.92:.1f}" height="{h:.1f}" '
                f'fill="{s.colour}"><title>{escape(s.name)} {escape(category)}: '
                f"{escape(value_format.format(value))}</title></rect>"
            )
            parts.append(_text(x + bar_w * 0.46, y - 3, value_format.format(value), "middle", 10))
        parts.append(_text(left + (i + 0.5) * group_w, top + plot_h + 16, category, "middle"))
    parts.append(_legend(series, left, height - 8))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def line_chart(
    series: Sequence[Series],
    xs: Sequence[Sequence[float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
    width: int = 360,
    height: int = 300,
) -> SafeString:
    """Lines with points on 0-1 axes (calibration plots); `diagonal` draws the ideal y = x."""
    left, bottom, top = 48, 52, 28
    plot_w, plot_h = width - left - 16, height - bottom - top

    def at(x: float, y: float) -> tuple[float, float]:
        return left + plot_w * x, top + plot_h * (1 - y)

    parts = [_open(width, height, title), _text(left, 18, title, "start", weight="bold")]
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
                 'fill="none" stroke="#999"/>')  # fmt: skip
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x, y = at(tick, tick)
        parts.append(_text(x, top + plot_h + 14, f"{tick:g}", "middle", 10))
        parts.append(_text(left - 4, y + 4, f"{tick:g}", "end", 10))
    if diagonal:
        (x0, y0), (x1, y1) = at(0, 0), at(1, 1)
        parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#bbb" '
                     'stroke-dasharray="4 3"/>')  # fmt: skip
    for s, x_values in zip(series, xs, strict=True):
        points = [at(x, y) for x, y in zip(x_values, s.values, strict=True)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"/>'
        )
        parts.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s.colour}"/>' for x, y in points
        )
    parts.append(_text(left + plot_w / 2, top + plot_h + 30, x_label, "middle"))
    middle = top + plot_h / 2
    parts.append(f'<text x="12" y="{middle}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {middle})">{escape(y_label)}</text>')  # fmt: skip
    parts.append(_legend(series, left, height - 6))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="11">'
    )


def _text(
    x: float, y: float, text: str, anchor: str, size: int = 11, weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'font-weight="{weight}">{escape(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#999"/>'


def _legend(series: Sequence[Series], x: float, y: float) -> str:
    if len(series) < 2:
        return ""
    parts = []
    for s in series:
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{s.colour}"/>'
        )
        parts.append(_text(x + 14, y, s.name, "start", 10))
        x += 24 + 6.5 * len(s.name)
    return "".join(parts)
