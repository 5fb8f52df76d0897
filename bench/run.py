"""Benchmarks at city and province scale that print ratios (`make bench`).

Each benchmark runs several times; the medians and the ratios below are printed, the JSON
object on the last line (`--json`: only that line goes to stdout; progress goes to stderr).

  ingest_vs_read        ingest of a 20,000-school 学校月报 workbook (read, normalise,
                        validate, store: one transaction) / pandas.read_excel(calamine)  ≤ 1.5
  cockpit_vs_sql        what the cockpit computes for a month at province scale /
                        one SELECT ... GROUP BY township over that month's returns        ≤ 2
  cockpit_trend_vs_sql  the same for the 12-month trend                                   ≤ 2
  page_vs_hello         time until the cockpit's KPIs show in headless Chromium /
                        the same for a one-line page on the same server                  ≤ 1.5
  rss_vs_bare           the server's peak RSS after 20 sessions opened the cockpit /
                        a bare Streamlit server's after the same                          ≤ 2

The cockpit ratios are measured on SQLite and on PostgreSQL (when a server answers at
LIUSHOU_BENCH_PG, default postgresql+psycopg://postgres@127.0.0.1:5432); the ratio judged
is the worse of the two. The province databases are seeded once and kept in bench/out/.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import common  # noqa: F401  (puts the project on sys.path)
from common import log, pg_available

TARGETS = {"ingest_vs_read": 1.5, "cockpit_vs_sql": 2.0, "cockpit_trend_vs_sql": 2.0,
           "page_vs_hello": 1.5, "rss_vs_bare": 2.0}
GROUPS = ("ingest", "cockpit", "page", "memory")


def _ingest(args, medians: dict, ratios: dict) -> None:
    import ingest_bench
    log("ingest: a 20,000-school workbook")
    found = ingest_bench.measure(args.repeat, with_pg=args.pg)
    medians.update(found)
    ratios["ingest_vs_read"] = found["ingest_sqlite"] / found["read_calamine"]
    if "ingest_postgresql" in found:
        ratios["ingest_vs_read_postgresql"] = found["ingest_postgresql"] / found["read_calamine"]


def _cockpit(args, medians: dict, ratios: dict) -> None:
    import cockpit_bench
    import scale_db
    log("cockpit: recording what the page reads")
    work = cockpit_bench.workload(cockpit_bench.recorded_calls())
    urls = {"sqlite": scale_db.sqlite_province()}
    if args.pg:
        urls["postgresql"] = scale_db.pg_province()
    for name, url in urls.items():
        found = cockpit_bench.measure(url, work, args.repeat)
        medians.update({f"{key}_{name}": value for key, value in found.items()})
        ratios[f"cockpit_vs_sql_{name}"] = found["cockpit_month"] / found["sql_month"]
        ratios[f"cockpit_trend_vs_sql_{name}"] = found["cockpit_trend"] / found["sql_trend"]
    for ratio in ("cockpit_vs_sql", "cockpit_trend_vs_sql"):
        ratios[ratio] = max(ratios[f"{ratio}_{name}"] for name in urls)


def _kpi_cards() -> int:
    from liushou_dash import catalog
    return len(catalog.on(catalog.CARD))


def _page(args, medians: dict, ratios: dict) -> None:
    import browser_bench
    import scale_db
    log("page: the cockpit in Chromium")
    found = browser_bench.measure_page(scale_db.sqlite_province(), args.repeat, _kpi_cards())
    medians.update(found)
    ratios["page_vs_hello"] = found["page_cockpit"] / found["page_hello"]


def _memory(args, medians: dict, ratios: dict) -> None:
    import browser_bench
    import scale_db
    log(f"memory: {browser_bench.SESSIONS} sessions")
    found = browser_bench.measure_memory(scale_db.sqlite_province(), _kpi_cards())
    medians.update(found)
    ratios["rss_vs_bare"] = found["rss_cockpit_mb"] / found["rss_bare_mb"]


RUNNERS = {"ingest": _ingest, "cockpit": _cockpit, "page": _page, "memory": _memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per benchmark")
    parser.add_argument("--only", nargs="+", choices=GROUPS, default=list(GROUPS))
    parser.add_argument("--no-pg", dest="pg", action="store_false",
                        help="skip PostgreSQL even when a server answers")
    args = parser.parse_args()
    args.pg = args.pg and pg_available()
    if not args.pg:
        log("PostgreSQL: no server answers; measuring SQLite only")
    medians: dict[str, float] = {}
    ratios: dict[str, float] = {}
    started = time.perf_counter()
    for group in args.only:
        RUNNERS[group](args, medians, ratios)
    report = {
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "targets": {k: v for k, v in TARGETS.items() if k in ratios},
        "met": {k: ratios[k] <= v for k, v in TARGETS.items() if k in ratios},
        "medians_s": {k: round(v, 4) for k, v in medians.items() if not k.endswith("_mb")},
        "peak_rss_mb": {k: round(v, 1) for k, v in medians.items() if k.endswith("_mb")},
        "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seconds": round(time.perf_counter() - started),
    }
    if not args.json:
        for key, value in report["ratios"].items():
            target = TARGETS.get(key)
            verdict = "" if target is None else (" ok" if value <= target else
                                                 f" over target {target}")
            print(f"{key:32s} {value:8.3f}{verdict}")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
