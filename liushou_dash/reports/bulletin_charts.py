"""The bulletin's charts as PNG pictures, drawn offline with matplotlib and a CJK font.

A Word document cannot hold a plotly figure, and rendering plotly to a picture needs a
browser; matplotlib draws in-process and needs only a font with Chinese glyphs (Debian's
fonts-noto-cjk, which `make run` installs). Without one the charts are left out rather than
drawn with empty boxes, and never silently: the bulletin says so where they would stand
(NO_FONT_NOTE) and the server log says why, once per process.
"""
from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

from liushou_dash import catalog
from liushou_dash.core.periods import parse_period, starts_year

FONT_FILES = (  # Debian/Ubuntu fonts-noto-cjk, then other common places
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
FONT_NAMES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "SimHei",
              "Microsoft YaHei")
DPI = 200
ACCENT, MUTED, ALERT, MONEY_IN = "#1f5fa8", "#9fb7d3", "#c0392b", "#d9a441"
NO_FONT_NOTE = ("（本机没有中文字体，通报中的图表未能生成。请系统管理员安装 Noto Sans CJK 字体，"
                "如 Debian 的 fonts-noto-cjk，然后重新生成通报。）")
LOG = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of a font with Chinese glyphs, registered with matplotlib and made
    its default once (here, not per chart: rcParams are global to the process); None when
    the machine has none."""
    name = None
    for path in FONT_FILES:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            break
    else:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        name = next((n for n in FONT_NAMES if n in installed), None)
    if name:
        matplotlib.rcParams.update({"font.family": name, "axes.unicode_minus": False,
                                    "font.size": 9})
    else:
        LOG.warning("no CJK font (looked for %s and the families %s): the bulletin's charts "
                    "are left out; install fonts-noto-cjk", ", ".join(FONT_FILES),
                    ", ".join(FONT_NAMES))
    return name


def available() -> bool:
    return cjk_font() is not None


def _figure(width: float, height: float):
    """A figure of its own, not pyplot's: Streamlit serves sessions from several threads,
    and pyplot's current-figure state is shared by all of them."""
    cjk_font()
    figure = Figure(figsize=(width, height), dpi=DPI)
    axes = figure.subplots()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def score_chart(ranked: pd.DataFrame, flagged: set[str]) -> bytes:
    """Horizontal bars of the composite score, best at the top; `flagged` townships (the
    bottom of the ranking) in the alert colour."""
    scored = ranked[ranked["score"].notna()].iloc[::-1]
    figure, axes = _figure(6.3, 0.18 * len(scored) + 0.9)
    colours = [ALERT if code in flagged else ACCENT for code in scored["township_code"]]
    axes.barh(scored["township_name"], scored["score"], color=colours, height=0.65)
    for y, value in enumerate(scored["score"]):
        axes.text(value + 0.3, y, f"{value:.2f}", va="center", fontsize=7)
    low = max(0.0, float(scored["score"].min()) - 10) if len(scored) else 0.0
    axes.set_xlim(low, 100)
    axes.set_xlabel("综合得分（满分100分）")
    axes.tick_params(axis="y", labelsize=7.5)
    return _png(figure)


def trend_chart(trend: pd.DataFrame) -> bytes:
    """The county's main rates month by month (`trend`: one row per period)."""
    figure, axes = _figure(6.3, 2.8)
    months = ["{}年{}月".format(*parse_period(p)) if starts_year(p)
              else f"{parse_period(p)[1]}月" for p in trend["period"]]
    for key in catalog.on(catalog.TREND):
        year_to_date = catalog.INDICATORS_BY_KEY[key].year_to_date
        label = catalog.label_of(key) + ("（年内累计）" if year_to_date else "")
        axes.plot(months, trend[key].astype("float64") * 100, marker="o", markersize=3,
                  linewidth=1.5, label=label)
    axes.set_ylabel("%")
    axes.set_ylim(0, 105)
    axes.grid(axis="y", linewidth=0.4, alpha=0.5)
    axes.legend(ncols=5, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                frameon=False)
    axes.tick_params(axis="x", labelsize=7, rotation=0)
    return _png(figure)


def funds_chart(townships: pd.DataFrame) -> bytes:
    """Money allocated (light) and disbursed (dark) this year by township, in 万元, the
    slowest spender at the bottom, each bar labelled with its disbursement rate."""
    frame = townships[townships["allocated"] > 0].sort_values(
        "disbursement_rate", ascending=True, kind="stable")
    figure, axes = _figure(6.3, 0.18 * len(frame) + 0.9)
    axes.barh(frame["township_name"], frame["allocated"] / 10000, height=0.7, color=MUTED,
              label="年度累计下达")
    axes.barh(frame["township_name"], frame["disbursed"] / 10000, height=0.45,
              color=MONEY_IN, label="年度累计拨付")
    for y, (allocated, rate) in enumerate(zip(frame["allocated"], frame["disbursement_rate"])):
        axes.text(allocated / 10000 + 0.3, y, f"{rate * 100:.1f}%", va="center", fontsize=7)
    axes.set_xlabel("万元（标注为拨付率）")
    axes.tick_params(axis="y", labelsize=7.5)
    axes.legend(fontsize=7, frameon=False, loc="lower right")
    return _png(figure)
