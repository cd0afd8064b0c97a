"""Server-rendered SVG trend charts and sparklines (no script; the CSP allows none).

Every chart has a text title and description for screen readers, and pages show the
same numbers in a table next to it. Thresholds are drawn as a shaded normal band
(NEWS2 sub-score 0) and, for NEWS2 itself, lines at 5 (urgent) and 7 (emergency).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    normal: tuple[float, float] | None = None  # the band that scores 0
    lines: tuple[float, ...] = ()


SCALES: dict[str, Scale] = {
    "news2": Scale(0, 20, (0, 4), (5, 7)),
    "respiration_rate": Scale(0, 40, (12, 20)),
    "spo2": Scale(80, 100, (96, 100)),
    "systolic_bp": Scale(60, 240, (111, 219)),
    "pulse": Scale(30, 160, (51, 90)),
    "temperature": Scale(34, 41, (36.1, 38.0)),
    "oxygen_flow": Scale(0, 10),
    "weight": Scale(30, 150),
    "ventilator_hours": Scale(0, 24),
    "mask_leak": Scale(0, 100),
    "diastolic_bp": Scale(30, 130),
}


def local_time(epoch: float) -> dt.datetime:
    from samhand.lib.timeutil import OSLO

    return dt.datetime.fromtimestamp(epoch, OSLO)


def day(epoch: float) -> str:
    return local_time(epoch).strftime("%d.%m.%Y")


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _thin(points: Sequence[tuple[float, float]], scale: Scale,
          most: int) -> Sequence[tuple[float, float]]:
    """At most `most` points: in each run of neighbours keep the one furthest from the
    normal band, so that a peak is never averaged away."""
    if len(points) <= most:
        return points
    middle = sum(scale.normal) / 2 if scale.normal else (scale.low + scale.high) / 2
    step = len(points) / most
    out = []
    for i in range(most):
        run = points[int(i * step):int((i + 1) * step)] or points[-1:]
        out.append(max(run, key=lambda p: abs(p[1] - middle)))
    return out


def line_chart(points: Sequence[tuple[float, float]], *, code: str, title: str,
               description: str, width: int = 640, height: int = 180,
               chart_id: str = "") -> SafeString:
    scale = SCALES.get(code, Scale(0, max([v for _t, v in points] + [1])))
    points = _thin(points, scale, width // 2)
    values = [v for _t, v in points]
    low = min([scale.low, *values])
    high = max([scale.high, *values])
    pad_l, pad_r, pad_t, pad_b = 40, 10, 10, 24
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def y(v: float) -> float:
        return pad_t + h - (v - low) / ((high - low) or 1) * h

    # Times as seconds since the epoch (the trend query returns them so, unconverted).
    times = [t for t, _v in points]
    t0 = min(times) if times else 0.0
    t1 = max(times) if times else t0
    span = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return pad_l + ((t - t0) / span) * w if len(points) > 1 else pad_l + w / 2

    cid = escape(chart_id or f"chart-{code}")
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="{cid}-t {cid}-d" preserveAspectRatio="none" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{cid}-t">{escape(title)}</title>',
             f'<desc id="{cid}-d">{escape(description)}</desc>']
    if scale.normal:
        top, bottom = y(min(scale.normal[1], high)), y(max(scale.normal[0], low))
        parts.append(f'<rect class="chart__normal" x="{pad_l}" y="{top:.1f}" width="{w}" '
                     f'height="{max(bottom - top, 0):.1f}" fill="#e3f1e6"/>')
    for line in scale.lines:
        if low <= line <= high:
            parts.append(f'<line class="chart__threshold" x1="{pad_l}" x2="{pad_l + w}" '
                         f'y1="{y(line):.1f}" y2="{y(line):.1f}" stroke="#b3261e" '
                         f'stroke-dasharray="4 3"/>'
                         f'<text x="{pad_l + w - 2}" y="{y(line) - 3:.1f}" text-anchor="end" '
                         f'font-size="11" fill="#b3261e">{_fmt(line)}</text>')
    for tick in (low, high, *(scale.normal or ())):
        parts.append(f'<text x="{pad_l - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#444">{_fmt(tick)}</text>')
    parts.append(f'<line x1="{pad_l}" x2="{pad_l}" y1="{pad_t}" y2="{pad_t + h}" '
                 f'stroke="#767676"/><line x1="{pad_l}" x2="{pad_l + w}" y1="{pad_t + h}" '
                 f'y2="{pad_t + h}" stroke="#767676"/>')
    if points:
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        parts.append(f'<polyline fill="none" stroke="#1d4f91" stroke-width="2" '
                     f'points="{path}"/>')
        if len(points) <= 120:
            for t, v in points:
                outside = scale.normal is not None and not (
                    scale.normal[0] <= v <= scale.normal[1])
                parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3" '
                             f'fill="{"#b3261e" if outside else "#1d4f91"}"/>')
        parts.append(f'<text x="{pad_l}" y="{height - 6}" font-size="11" fill="#444">'
                     f'{day(t0)}</text>'
                     f'<text x="{pad_l + w}" y="{height - 6}" text-anchor="end" font-size="11" '
                     f'fill="#444">{day(t1)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (numbers and escaped text only)


def sparkline(values: Sequence[float], *, label: str, width: int = 80,
              height: int = 20, code: str = "news2") -> SafeString:
    """A tiny line for worklists; `label` says the numbers in words."""
    if not values:
        return mark_safe("")
    scale = SCALES.get(code, Scale(min(values), max(values)))
    low, high = min([scale.low, *values]), max([scale.high, *values])
    step = width / max(len(values) - 1, 1)
    rise = (high - low) or 1
    pts = " ".join(f"{i * step:.1f},{height - 2 - (v - low) / rise * (height - 4):.1f}"
                   for i, v in enumerate(values))
    last = values[-1]
    alarm = code == "news2" and last >= 5
    return mark_safe(  # noqa: S308
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline fill="none" stroke="{"#b3261e" if alarm else "#1d4f91"}" '
        f'stroke-width="1.5" points="{pts}"/></svg>')
