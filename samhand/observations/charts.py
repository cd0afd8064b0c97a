"""Server-rendered SVG trend charts and sparklines (no script; the CSP allows none).

Every chart has a text title and description for screen readers, and pages show the
same numbers in a table next to it. Thresholds are drawn as a shaded normal band
(NEWS2 sub-score 0) and, for NEWS2 itself, lines at 5 (urgent) and 7 (emergency).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


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

    def y(v: float) -> str:
        return f"{pad_t + h - (v - low) / ((high - low) or 1) * h:.1f}"

    # Times as seconds since the epoch (the trend query returns them so, unconverted).
    times = [t for t, _v in points]
    t0 = min(times) if times else 0.0
    t1 = max(times) if times else t0
    span = (t1 - t0) or 1.0

    def x(t: float) -> str:
        return f"{pad_l + ((t - t0) / span) * w if len(points) > 1 else pad_l + w / 2:.1f}"

    cid = chart_id or f"chart-{code}"
    parts: list[SafeString] = []
    if scale.normal:
        top, bottom = float(y(min(scale.normal[1], high))), float(y(max(scale.normal[0], low)))
        parts.append(format_html(
            '<rect class="chart__normal" x="{}" y="{}" width="{}" height="{}" '
            'fill="#e3f1e6"/>', pad_l, f"{top:.1f}", w, f"{max(bottom - top, 0):.1f}"))
    for line in scale.lines:
        if low <= line <= high:
            parts.append(format_html(
                '<line class="chart__threshold" x1="{}" x2="{}" y1="{}" y2="{}" '
                'stroke="#b3261e" stroke-dasharray="4 3"/><text x="{}" y="{}" '
                'text-anchor="end" font-size="11" fill="#b3261e">{}</text>',
                pad_l, pad_l + w, y(line), y(line), pad_l + w - 2,
                f"{float(y(line)) - 3:.1f}", _fmt(line)))
    parts.append(format_html_join("", '<text x="{}" y="{}" text-anchor="end" '
                                  'font-size="11" fill="#444">{}</text>',
                                  ((pad_l - 4, f"{float(y(tick)) + 4:.1f}", _fmt(tick))
                                   for tick in (low, high, *(scale.normal or ())))))
    parts.append(format_html('<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#767676"/>'
                             '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#767676"/>',
                             pad_l, pad_l, pad_t, pad_t + h, pad_l, pad_l + w, pad_t + h,
                             pad_t + h))
    if points:
        parts.append(format_html('<polyline fill="none" stroke="#1d4f91" stroke-width="2" '
                                 'points="{}"/>',
                                 " ".join(f"{x(t)},{y(v)}" for t, v in points)))
        if len(points) <= 120:
            parts.append(format_html_join("", '<circle cx="{}" cy="{}" r="3" fill="{}"/>', (
                (x(t), y(v), "#b3261e" if scale.normal is not None and not (
                    scale.normal[0] <= v <= scale.normal[1]) else "#1d4f91")
                for t, v in points)))
        parts.append(format_html(
            '<text x="{}" y="{}" font-size="11" fill="#444">{}</text><text x="{}" y="{}" '
            'text-anchor="end" font-size="11" fill="#444">{}</text>',
            pad_l, height - 6, day(t0), pad_l + w, height - 6, day(t1)))
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t {}-d" '
        'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title id="{}-t">{}'
        '</title><desc id="{}-d">{}</desc>{}</svg>',
        width, height, cid, cid, cid, title, cid, description,
        format_html_join("", "{}", ((part,) for part in parts)))


def sparkline(values: Sequence[float], *, label: str, width: int = 80,
              height: int = 20, code: str = "news2") -> SafeString:
    """A tiny line for worklists; `label` says the numbers in words."""
    if not values:
        return format_html("{}", "")
    scale = SCALES.get(code, Scale(min(values), max(values)))
    low, high = min([scale.low, *values]), max([scale.high, *values])
    step = width / max(len(values) - 1, 1)
    rise = (high - low) or 1
    pts = " ".join(f"{i * step:.1f},{height - 2 - (v - low) / rise * (height - 4):.1f}"
                   for i, v in enumerate(values))
    alarm = code == "news2" and values[-1] >= 5
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="{}" xmlns="http://www.w3.org/2000/svg"><polyline fill="none" '
        'stroke="{}" stroke-width="1.5" points="{}"/></svg>',
        width, height, width, height, label, "#b3261e" if alarm else "#1d4f91", pts)
