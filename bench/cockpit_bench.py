"""cockpit_vs_sql and cockpit_trend_vs_sql: what the cockpit computes, against one GROUP BY.

What "everything the cockpit shows" is, is read off the page itself: the cockpit is run once
under Streamlit's AppTest (bench/apps/cockpit.py, a logged-in leader) against a small demo
database, and every reader it asks liushou_dash.web.cache for is recorded. Those same reader
functions are then called without any cache against the province database:
- the month: every call the page makes before it asks for its trend (the cards' two months,
  the alerts' three, which share two, the 无人监护 schools, the reporting status, ...);
- the trend: the township table of each month of the trend (12 months).
Each is compared with one plain SELECT township_code, SUM(every count) ... GROUP BY over the
school returns of the latest month (of the 12 months, grouped by month too, for the trend).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from common import ROOT, TODAY, log, median_seconds, sqlite_ready, sqlite_url
from sqlalchemy import text

from liushou_dash import catalog
from liushou_dash.core.db import dispose_engines, init_db, make_engine
from liushou_dash.demo.seed import seed_demo

APP = ROOT / "bench" / "apps" / "cockpit.py"
MONTH_READER = "township_month"   # cache.READERS: one month's township table
TREND = "trend"                    # the mark recorded when the page asks for its trend


@dataclass(frozen=True)
class Call:
    reader: str
    arguments: tuple

    def run(self, engine):
        from liushou_dash.web import cache
        return cache.READERS[self.reader](engine, *self.arguments)


def _small_demo() -> str:
    url = sqlite_url("county")
    if not sqlite_ready(url):
        engine = make_engine(url)
        init_db(engine)
        seed_demo(engine, months=13, today=TODAY)
        engine.dispose()
    return url


def recorded_calls() -> list[Call]:
    """The readers the cockpit asks for on a cold cache, in order, recorded under AppTest,
    with a Call(TREND, trend months) where the page asks for its trend."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from liushou_dash.web import cache

    url = _small_demo()
    calls: list[Call] = []
    originals = dict(cache.READERS)

    def recording(name, function):
        def reader(engine, *arguments):
            calls.append(Call(name, arguments))
            return function(engine, *arguments)
        return reader

    previous_url = os.environ.get("LIUSHOU_DATABASE_URL")
    os.environ["LIUSHOU_DATABASE_URL"] = url
    cache.READERS.update({name: recording(name, f) for name, f in originals.items()})
    trend_filter = cache.trend_filter

    def marking(flt):
        chosen = trend_filter(flt)
        calls.append(Call(TREND, chosen.periods))
        return chosen
    cache.trend_filter = marking
    try:
        st.cache_data.clear()
        app = AppTest.from_file(str(APP), default_timeout=120).run()
        if app.exception:
            raise RuntimeError(f"the cockpit failed: {[e.value for e in app.exception]}")
    finally:
        cache.READERS.update(originals)
        cache.trend_filter = trend_filter
        st.cache_data.clear()
        dispose_engines()
        if previous_url is None:
            os.environ.pop("LIUSHOU_DATABASE_URL", None)
        else:
            os.environ["LIUSHOU_DATABASE_URL"] = previous_url
    return calls


@dataclass
class Workload:
    latest: str
    month: list[Call]
    trend: list[Call]

    @property
    def trend_periods(self) -> list[str]:
        return sorted(c.arguments[0] for c in self.trend)


def workload(calls: list[Call]) -> Workload:
    [mark] = [i for i, c in enumerate(calls) if c.reader == TREND]
    month, periods = calls[:mark], calls[mark].arguments
    # The months the page had read already came from the cache: asked for the same way.
    asked = next(c for c in calls[mark:] if c.reader == MONTH_READER).arguments[1:]
    trend = [Call(MONTH_READER, (p, *asked)) for p in periods]
    return Workload(periods[-1], month, trend)


def _group_by(periods: list[str]) -> str:
    sums = ", ".join(f'SUM("{key}")' for key in catalog.SCHOOL_COUNT_KEYS)
    by_month = "period, " if len(periods) > 1 else ""
    return (f"SELECT {by_month}township_code, {sums} FROM school_returns "
            f"WHERE period BETWEEN '{periods[0]}' AND '{periods[-1]}' "
            f"GROUP BY {by_month}township_code")


def measure(url: str, work: Workload, repeat: int) -> dict[str, float]:
    """Median seconds of the cockpit's month, its trend, and the two plain GROUP BYs."""
    engine = make_engine(url)

    def sql(statement):
        def run():
            with engine.connect() as conn:
                conn.execute(text(statement)).all()
        return run

    def calls(chosen):
        def run():
            for call in chosen:
                call.run(engine)
        return run

    result = median_seconds({"sql_month": sql(_group_by([work.latest])),
                             "cockpit_month": calls(work.month)}, repeat)
    result.update(median_seconds({"sql_trend": sql(_group_by(work.trend_periods)),
                                  "cockpit_trend": calls(work.trend)}, repeat))
    engine.dispose()
    log(f"  {engine.dialect.name}: " + ", ".join(f"{k} {v * 1000:.0f} ms"
                                                for k, v in result.items()))
    return result
