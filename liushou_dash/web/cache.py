"""What the pages read: cached readers over liushou_dash (views.py draws what they return).

Pages lay out widgets only; everything they show is read here and shaped in the core.
Readers go through one st.cache_data function keyed by the database URL, the data version,
the reader's name and its arguments, so every session shares one copy (forty meeting screens
cost one query). The data version (`data_version`) is the last audit row that changed what the
pages show: every write leaves one, whichever replica or command made it, so every replica's
caches move on within VERSION_SECONDS of a write. Tables are read per month for the whole
county and cut to the chosen townships in memory: moving the month range reads only the new
months, and choosing townships reads nothing.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from liushou_dash.catalog import messages
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import audit, orgunits, settings
from liushou_dash.core.db import audit_tail, database_url, engine_for
from liushou_dash.core.filtering import Filter
from liushou_dash.core.periods import (
    due_date,
    month_number,
    period_label,  # noqa: F401  (re-exported for the pages)
    period_of_month_number,
    periods_between,
    previous_period,
)
from liushou_dash.indicators import alerts, cards, homes, ledger, readers, stored
from liushou_dash.reports import export
from liushou_dash.web import charts, filters
from liushou_dash.workflow import meeting_links, progress

# Only a backstop now: the data version moves the caches on after every write made through
# the application; this bounds how long a change made around it (SQL by hand) stays unseen.
CACHE_TTL_SECONDS = 300
# How long a process trusts the data version it read: at most one audit query per this many
# seconds per process, however many sessions rerun, and how late another replica's write shows.
VERSION_SECONDS = 1.0
# Audit actions that change nothing a cached reader shows (sessions, passwords, downloads,
# refusals, backups): they leave the caches alone, so a login, or a stranger's failed
# guesses, never make every replica re-read its dashboards. Any other action, including
# one added later, moves the data version. (Account creation and (de)activation are not
# here: the chase list names a township's active clerks.)
QUIET_ACTIONS = frozenset({"login", "login_failed", "login_delayed", "login_inactive", "logout",
                           "expired", "change_password", "reset_password", "unlock_user",
                           "download", "denied", "backup", meeting_links.CREATE,
                           meeting_links.REVOKE, meeting_links.OPEN})  # move no figure
# The meeting screen redraws from the cache this often (a test server sets it shorter).
MEETING_REFRESH_SECONDS = float(os.environ.get("LIUSHOU_MEETING_REFRESH_SECONDS", 60))
FILTER_KEY = "filter"          # st.session_state: the Filter the sidebar built this run
ACTOR_KEY = "actor"            # st.session_state: the logged-in auth.Actor, if any
DEMO_BANNER, NO_DATA_MESSAGE = messages.DEMO_BANNER, messages.NO_DATA  # the login screen's
NOT_AVAILABLE = messages.NOT_AVAILABLE
URGENT_KINDS = (alerts.UNGUARDED, alerts.MISSING_RETURN)


# --- Cached readers ----------------------------------------------------------------------------

def _filter_of(period, school_types=None, approved_only=False) -> Filter:
    return Filter((period,), school_types=school_types, approved_only=approved_only)


# name -> function of (engine, *arguments); the functions are looked up when called, so a
# test can count the calls that reach liushou_dash.
READERS: dict[str, Callable] = {
    "span": lambda engine: readers.period_span(engine),
    "demo": lambda engine: settings.is_demo(engine),
    "townships": lambda engine: orgunits.townships(engine),
    "boundaries": lambda engine: orgunits.boundaries(engine),
    "villages": lambda engine: orgunits.villages(engine),
    "schools": lambda engine, types: orgunits.schools(engine, types),
    "township_month": lambda engine, period, types, approved, indicators=None: (
        stored.township_table(engine, _filter_of(period, types, approved), indicators)),
    "school_month": lambda engine, *f: readers.school_table(engine, _filter_of(*f)),
    "homes": lambda engine, period, approved: homes.home_list(engine, period, approved),
    "ledger": lambda engine, period, approved: ledger.entries(engine, period, approved),
    "unguarded": lambda engine, period, approved: alerts.unguarded_schools(
        engine, period, approved),
    "deadline": lambda engine: settings.deadline_day(engine),
    "statuses": lambda engine, period, today: progress.statuses(engine, (period,), today),
    "chase": lambda engine, period, today: progress.chase_list(
        engine, progress.statuses(engine, (period,), today), today),
    "as_of": lambda engine: audit.last_figure_change(engine),
    "export_frame": lambda engine, flt, level, columns: export.export_frame(
        engine, flt, level, columns),
    "export": lambda engine, flt, level, fmt, columns: export.export_bytes(
        engine, flt, level, fmt, columns, labelled=True),
}


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=2000)
def _read(url: str, version: tuple, reader: str, *arguments):
    # version only keys the cache: a reading taken before a write is never served after it.
    return READERS[reader](engine_for(url), *arguments)


def read(reader: str, *arguments):
    return _read(*data_key(), reader, *arguments)


def data_key() -> tuple[str, tuple[int, str]]:
    """(database URL, data version): the first arguments of every cached reader, here and in
    the pages, so that none serves a reading taken before the latest write."""
    url = database_url()
    return url, data_version(url)


# --- The data version --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Version:
    """What this process knows of a database's audit chain. Links are (seq, row_hash): the
    hash tells a chain apart from another one of the same length (a database restored or
    recreated under the same address)."""
    seen: tuple[int, str]   # the chain's last row when last read; (0, "") for none
    key: tuple[int, str]    # the last row up to it that changed data: the caches' key
    read_at: float          # time.monotonic() of that read


_VERSIONS: dict[str, _Version] = {}   # database URL -> what this process last read of it
_VERSION_LOCK = threading.Lock()      # one session reads the version, the others wait for it


def data_version(url: str | None = None) -> tuple[int, str]:
    """The caches' key for the database's data: re-read at most every VERSION_SECONDS per
    process, so a rerun costs a dictionary look-up and, once a second, one index scan.
    Readings keyed by an older version are never served again; their TTL and max_entries
    retire them (clearing every cache here would also drop other databases' and could run
    inside a cached reader)."""
    url = database_url(url)
    with _VERSION_LOCK:
        known = _VERSIONS.get(url)
        if known is None or time.monotonic() - known.read_at >= VERSION_SECONDS:
            _VERSIONS[url] = known = _next_version(engine_for(url), known)
        return known.key


def _next_version(engine, known: _Version | None) -> _Version:
    """`known` moved on by the audit rows written since it was read."""
    now = time.monotonic()
    if known is not None:
        rows = audit_tail(engine, known.seen[0])
        if rows and _link(rows[0]) == known.seen:
            loud = [row for row in rows[1:] if row.action not in QUIET_ACTIONS]
            return _Version(_link(rows[-1]), _link(loud[-1]) if loud else known.key, now)
    # The first read, or the row last seen is gone or different (another database under the
    # same address): start from the chain's end.
    end = audit_tail(engine, None)
    link = _link(end[0]) if end else (0, "")
    return _Version(link, link, now)


def _link(row) -> tuple[int, str]:
    return row.seq, row.row_hash


def clear_caches() -> None:
    """After a write on this replica: the next read asks the database for the data version
    at once instead of waiting out VERSION_SECONDS, so the writer sees its write on the very
    next run (other replicas see it within VERSION_SECONDS)."""
    with _VERSION_LOCK:
        for url, known in _VERSIONS.items():
            _VERSIONS[url] = replace(known, read_at=-math.inf)


def engine():
    return engine_for(database_url())


def today() -> dt.date:
    return dt.date.today()


def is_demo() -> bool:
    return read("demo")


def filter_options() -> filters.Options | None:
    span = read("span")
    if span is None:
        return None
    return filters.Options.spanning(*span, read("townships")["township_code"])


def township_colours() -> dict[str, str]:
    """The fixed colour of every township (charts.township_colours over the county)."""
    return charts.township_colours(read("townships"))


def county_count() -> int:
    """How many counties the database holds: one for a county, several for a city or a
    province running one instance."""
    return read("townships")["county_code"].nunique()


def township_names() -> dict[str, str]:
    names = read("townships")
    return dict(zip(names["township_code"], names["township_name"]))


def _months(reader: str, flt: Filter, *more) -> pd.DataFrame:
    frames = [read(reader, p, flt.school_types, flt.approved_only, *more) for p in flt.periods]
    return filters.restrict(pd.concat(frames, ignore_index=True), flt.townships)


def township_table(flt: Filter, indicators: tuple[str, ...] | None = None) -> pd.DataFrame:
    """stored.township_table(flt, indicators), from the cache."""
    return _months("township_month", flt, indicators)


def school_table(flt: Filter) -> pd.DataFrame:
    """readers.school_table(flt), from the cache."""
    return _months("school_month", flt)


def township_schools(flt: Filter, township: str) -> pd.DataFrame:
    """The school rows of one township for the filter's latest month (a drill-down)."""
    return school_table(replace(flt.only(flt.latest), townships=(township,)))


def month_pair(flt: Filter, indicators: tuple[str, ...] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The township rows of the filter's latest month and of the month before (the cards)."""
    return (township_table(flt.only(flt.latest), indicators),
            township_table(flt.only(previous_period(flt.latest)), indicators))


def trend_filter(flt: Filter) -> Filter:
    """The months a trend shows: the chosen range, or the year up to a single chosen month
    (never before the first month with data)."""
    if len(flt.periods) > 1:
        return flt
    first = read("span")[0]
    start = period_of_month_number(max(month_number(flt.latest)
                                               - filters.TREND_MONTHS + 1,
                                               month_number(first)))
    return Filter(periods_between(start, flt.latest), flt.townships, flt.school_types,
                  flt.approved_only)


def month_alerts(flt: Filter) -> list:
    """alerts.alerts of the filter's latest month (whatever its school types), from the
    cached months the cockpit's cards read too, cut to the chosen townships."""
    found = _month_alerts(*data_key(), flt.latest, flt.approved_only, today())
    return [a for a in found if flt.townships is None or a.township_code in flt.townships]


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=200)
def _month_alerts(url: str, version: tuple, period: str, approved: bool, day: dt.date) -> list:
    """Composed once for every session: a province's ~2,000 alert messages take a while.
    (`url` and `version` key the cache, see data_key; the readers it calls are cached too.)"""
    rules, shown = load_rules(), cards.cockpit_indicators()
    recent = township_table(alerts.recent_months(period, rules, approved), shown)
    every_return = township_table(Filter((period,)), shown)  # who has reported at all
    status = alerts.month_status(every_return, due_date(period, read("deadline")),
                                      day)
    return alerts.from_tables(period, recent, read("unguarded", period, approved),
                                   status, rules)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=200)
def _alert_files(url: str, version: tuple, flt: Filter, day: dt.date) -> dict[str, bytes]:
    # url, version and day only key the cache: the data (data_key) and "today" of the alerts.
    frame = alerts.as_frame(month_alerts(flt))
    title = f"{period_label(flt.latest)}预警清单"
    return {fmt: export.frame_bytes(frame, fmt, title, labelled=True)
            for fmt in export.FORMATS}


def alert_files(flt: Filter) -> dict[str, bytes]:
    """The filter's alerts as CSV and Excel files (the whole list under the cockpit's)."""
    return _alert_files(*data_key(), flt, today())


def home_list(flt: Filter) -> pd.DataFrame:
    return filters.restrict(read("homes", flt.latest, flt.approved_only), flt.townships)


def ledger_entries(flt: Filter) -> pd.DataFrame:
    return filters.restrict(read("ledger", flt.latest, flt.approved_only), flt.townships)


def statuses(flt: Filter, periods: Sequence[str] | None = None) -> pd.DataFrame:
    frames = [read("statuses", p, today()) for p in (periods or flt.periods)]
    return filters.restrict(pd.concat(frames, ignore_index=True), flt.townships)


def chase_list(flt: Filter) -> tuple[str, pd.DataFrame]:
    """The month being collected now and the chosen townships that still owe it."""
    period = progress.reporting_period(today())
    return period, filters.restrict(read("chase", period, today()), flt.townships)


def schools(flt: Filter) -> pd.DataFrame:
    return filters.restrict(read("schools", flt.school_types), flt.townships)


def boundaries(flt: Filter) -> pd.DataFrame:
    return filters.restrict(read("boundaries"), flt.townships)


def villages(flt: Filter) -> pd.DataFrame:
    return filters.restrict(read("villages"), flt.townships)


def data_as_of() -> dt.datetime | None:
    """数据截至: the last change that moved a figure (audit.last_figure_change)."""
    return read("as_of")


def export_frame(flt: Filter, level: str, columns: tuple[str, ...] | None) -> pd.DataFrame:
    """export.export_frame for the filter: the table the download page previews."""
    return read("export_frame", flt, level, columns)


def export_files(flt: Filter, level: str, columns: tuple[str, ...] | None) -> dict[str, bytes]:
    """export.export_bytes in every format: the very files `export --labels` writes."""
    return {fmt: read("export", flt, level, fmt, columns) for fmt in export.FORMATS}


def current_actor():
    """The logged-in auth.Actor, or None when the app runs without the login gate."""
    return st.session_state.get(ACTOR_KEY)




def urgent_alerts(flt: Filter) -> list:
    """The alerts that cannot wait: children without a guardian, returns not in."""
    return [a for a in month_alerts(flt) if a.kind in URGENT_KINDS]
