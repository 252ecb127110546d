"""Server-rendered SVG bar charts for the studio: no JavaScript, no CDN."""

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR_WIDTH = 28
GAP = 8
PLOT_HEIGHT = 120
LABEL_HEIGHT = 32


def bar_chart(bars: Sequence[tuple[str, int]], *, title: str) -> SafeString:
    """A vertical bar chart: one ``<rect>`` per (label, value), the value above, the label below.

    Heights are relative to the largest value; an all-zero chart shows empty baselines.
    """
    top = max((value for _label, value in bars), default=0) or 1
    width = len(bars) * (BAR_WIDTH + GAP) + GAP
    height = PLOT_HEIGHT + LABEL_HEIGHT + 16
    parts = []
    for index, (label, value) in enumerate(bars):
        x = GAP + index * (BAR_WIDTH + GAP)
        bar_height = round(PLOT_HEIGHT * value / top)
        y = 16 + PLOT_HEIGHT - bar_height
        parts.append(
            (
                x,
                y,
                BAR_WIDTH,
                bar_height,
                label,
                value,
                x + BAR_WIDTH / 2,
                y - 4,
                value,
                x + BAR_WIDTH / 2,
                16 + PLOT_HEIGHT + 14,
                label,
            )
        )
    body = format_html_join(
        "",
        '<g><rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="#2e7d8c">'
        "<title>{}: {}</title></rect>"
        '<text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="10">{}</text></g>',
        parts,
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" class="studio-chart" '
        'width="{}" height="{}" viewBox="0 0 {} {}"><title>{}</title>'
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#999"/>{}</svg>',
        width,
        height,
        width,
        height,
        title,
        16 + PLOT_HEIGHT,
        width,
        16 + PLOT_HEIGHT,
        body,
    )
