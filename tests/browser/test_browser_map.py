"""The map reads like the tables, in Chromium at projector size (issue 13).

Debian's Chromium at 1920 × 1080 opens 乡镇地图 and 会议大屏 on the demo database: the drawn
map carries the status colours of the table cells (targets.FILLS) and none of the old
equal-interval greens, the legend shows the tables' labels with their thresholds in type
that can be read from the back of the room (at least 16 px on the page, more on the meeting
screen), and no request leaves the machine. Screenshots land in tests/screenshots/ (ignored
by git) for a person to look at.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from liushou_dash.indicators import targets
from liushou_dash.web import maps
from tests.browser.test_browser import (  # noqa: F401  (fixtures, one server for this module)
    SCREENSHOTS,
    assert_all_local,
    browser,
    screenshot,
    demo_db,
    exceptions,
    go_to,
    log_in,
    requests,
    server,
    wait_idle,
)

pytestmark = pytest.mark.browser
PROJECTOR = {"width": 1920, "height": 1080}
OLD_DARK_GREEN = (0x1A, 0x98, 0x50)   # the equal-interval scale's top class, 95–99% paired
LEGEND = "[data-testid='stMain'] .map-legend"
MEETING_CALL = (": app_pages/meeting.py should draw its map with maps.show(maps.township_map("
                "..., canvas=MAP_CANVAS, projector=True), height=MAP_CANVAS[1])")


@pytest.fixture
def page(server, browser, requests):
    context = browser.new_context(viewport=PROJECTOR, locale="zh-CN")
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(server)
    wait_idle(page)
    log_in(page)
    yield page
    context.close()


def _drawn_map(page) -> Image.Image:
    """The deck.gl canvas once it has drawn its townships, as an RGB picture."""
    canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
    canvas.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # deck.gl draws after its first frame
    return Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")


def _share(picture: Image.Image, colour: tuple[int, int, int], tolerance: int = 6) -> float:
    """The share of the picture's pixels within `tolerance` of `colour` in every channel."""
    pixels = np.asarray(picture, dtype=int).reshape(-1, 3)
    return float((np.abs(pixels - np.array(colour)) <= tolerance).all(axis=1).mean())


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def _legend_pixels(page, hint: str = "") -> float:
    assert page.locator(LEGEND).count() == 1, f"no legend drawn by maps.show{hint}"
    return page.eval_on_selector(LEGEND, "e => parseFloat(getComputedStyle(e).fontSize)")


def _assert_status_colours(picture: Image.Image) -> None:
    # the demo's townships mostly pair 94–98% of their children: 接近目标, orange as in the
    # table, where the old scale painted them dark green; two lag below 90% (red)
    assert _share(picture, _rgb(targets.FILLS[targets.NEAR])) > 0.05
    assert _share(picture, _rgb(targets.FILLS[targets.MISSED])) > 0.002
    assert _share(picture, OLD_DARK_GREEN) < 0.001
    assert _share(picture, (255, 255, 255), tolerance=2) > 0.05  # the names' white labels


def _assert_legend_text(page) -> None:
    text = page.inner_text(LEGEND)
    for _, entry in targets.legend("paired_rate"):
        assert entry in text
    assert maps.NO_DATA_TEXT in text  # two demo townships have not reported


def test_the_map_page_colours_like_the_table_with_a_readable_legend(page, requests):
    go_to(page, "乡镇地图")
    picture = _drawn_map(page)
    assert not exceptions(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "map_1920.png"))   # what a 1920 × 1080 screen shows
    screenshot(page, "map_1920_full")                         # and the table under the map
    _assert_status_colours(picture)
    assert _legend_pixels(page) >= 16
    _assert_legend_text(page)
    assert requests, "the browser made no request at all"
    assert_all_local(requests)


def test_the_meeting_screen_shows_the_map_legend_at_projector_size(page, requests):
    go_to(page, "会议大屏")
    page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
    page.wait_for_timeout(1500)
    wait_idle(page)
    picture = _drawn_map(page)
    assert not exceptions(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "meeting_1920.png"))  # the projected screen
    screenshot(page, "meeting_1920_full")                        # down to the map's legend
    _assert_status_colours(picture)
    assert _legend_pixels(page, MEETING_CALL) >= maps.PROJECTOR.legend_pixels >= 20
    _assert_legend_text(page)
    assert requests, "the browser made no request at all"
    assert_all_local(requests)
