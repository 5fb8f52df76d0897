"""The rollup: each submission's totals, so that dashboards sum townships, not schools.

A province's month is ~20,000 school rows but ~2,600 township submissions. `submission_totals`
holds, per submission, the sums of every school count, its homes measures and its funding
ledger's totals, computed from the stored rows by `refresh` in the transaction that stores
the submission (ingest.store, and demo_scale's bulk writer for a whole range at once).

Why per submission and not per township-month: a submission's rows never change after it is
stored (a correction is a new submission, a roll back flips `is_current`, a review sets
`status`), so its totals are never stale, and the readers select which submissions count —
current ones, approved ones — from the submissions table exactly as over the raw rows.
Workflow actions therefore need no rollup maintenance.

Two things are fixed at store time:
- homes hosted by "a village (school) of the home's own township" are judged against the
  master data of that moment, as the validator judged them (E03);
- a ledger's totals are all of its entries: the dashboards sum "entries dated up to the end
  of a month at or after the submission's month", which is all of them, since the validator
  refuses entries dated after the submission's month (E13). A ledger stored with such
  entries anyway gets NULL totals, and the readers sum its rows.
Views the totals cannot answer (a filter on school type) read the raw rows instead.
"""
from __future__ import annotations

from sqlalchemy import String, and_, case, cast, delete, distinct, func, insert, select
from sqlalchemy.sql import Select

from liushou_dash import catalog
from liushou_dash.core.models import (
    FundingEntry,
    Home,
    School,
    SchoolReturn,
    Submission,
    SubmissionTotals,
    Village,
)

TOTALS = SubmissionTotals.__table__
COUNT_KEYS = catalog.SCHOOL_COUNT_KEYS
TALLIES = tuple(catalog.schools_with(key) for key in COUNT_KEYS)  # schools_reported apart
HOME_KEYS = ("homes", "homes_standardized", "villages_with_home", "schools_with_home")
MONEY_KEYS = ("allocated", "disbursed")


def tally_columns(returns) -> list:
    """Over school rows of `returns` (the table or an alias): how many there are, and for
    each count how many report more than 0 (catalog.SCHOOL_TALLY_KEYS)."""
    return [func.count().label(catalog.SCHOOLS_REPORTED),
            *[func.sum(case((returns.c[key] > 0, 1), else_=0)).label(catalog.schools_with(key))
              for key in COUNT_KEYS]]


def school_sums(submission_ids) -> Select:
    """Per submission: the Σ of every count and the tallies of its school rows."""
    returns = SchoolReturn.__table__
    return (select(returns.c.submission_id, *tally_columns(returns),
                   *[func.sum(returns.c[key]).label(key) for key in COUNT_KEYS])
            .where(submission_ids(returns.c.submission_id))
            .group_by(returns.c.submission_id))


def home_measures(submission_ids, school_types=None) -> Select:
    """Per submission: homes, standardised homes, and the villages and schools (of
    `school_types` when given) of the home's own township that host at least one."""
    homes, villages, schools = Home.__table__, Village.__table__, School.__table__
    village_host = and_(villages.c.code == homes.c.host_code,
                        villages.c.township_code == homes.c.township_code,
                        homes.c.host_type.in_(catalog.VILLAGE_HOST_TYPES))
    school_host = and_(schools.c.code == homes.c.host_code,
                       schools.c.township_code == homes.c.township_code,
                       homes.c.host_type == catalog.SCHOOL_HOST_TYPE)
    if school_types is not None:
        school_host = and_(school_host, schools.c.type.in_(school_types))
    return (select(homes.c.submission_id, func.count().label("homes"),
                   func.sum(case((homes.c.standardized.is_(True), 1), else_=0))
                   .label("homes_standardized"),
                   func.count(distinct(villages.c.code)).label("villages_with_home"),
                   func.count(distinct(schools.c.code)).label("schools_with_home"))
            .select_from(homes.outerjoin(villages, village_host).outerjoin(schools, school_host))
            .where(submission_ids(homes.c.submission_id)).group_by(homes.c.submission_id))


def funding_totals(submission_ids) -> Select:
    """Per submission: Σ allocated (下达) and Σ disbursed (支出) over its ledger; both NULL
    when the ledger has entries dated after the submission's month (the validator refuses
    them, E13, but the store does not), since those count only from a later month on."""
    funding, submissions = FundingEntry.__table__, Submission.__table__
    entry_month = func.substr(cast(funding.c.date, String), 1, 7)   # ISO dates on both
    later = func.sum(case((entry_month > submissions.c.period, 1), else_=0))

    def total(kind):
        return case((later > 0, None), else_=func.coalesce(
            func.sum(case((funding.c.kind == kind, funding.c.amount))), 0))
    return (select(funding.c.submission_id, total(catalog.ALLOCATED_KIND).label("allocated"),
                   total(catalog.DISBURSED_KIND).label("disbursed"))
            .join(submissions, submissions.c.id == funding.c.submission_id)
            .where(submission_ids(funding.c.submission_id)).group_by(funding.c.submission_id))


def between(first_id: int, last_id: int):
    """A condition on a submission id column: from `first_id` to `last_id`, inclusive."""
    return lambda column: column.between(first_id, last_id)


def totals_select(submission_ids) -> Select:
    """Every submission whose id satisfies `submission_ids(column)` with its totals,
    recomputed from the stored rows: the rows `refresh` writes."""
    submissions = Submission.__table__
    schools = school_sums(submission_ids).subquery()
    homes = home_measures(submission_ids).subquery()
    money = funding_totals(submission_ids).subquery()
    return (select(submissions.c.id.label("submission_id"),
                   func.coalesce(schools.c.schools_reported, 0).label("schools_reported"),
                   *[schools.c[key] for key in (*COUNT_KEYS, *TALLIES)],
                   *[homes.c[key] for key in HOME_KEYS], *[money.c[key] for key in MONEY_KEYS])
            .select_from(submissions
                         .outerjoin(schools, schools.c.submission_id == submissions.c.id)
                         .outerjoin(homes, homes.c.submission_id == submissions.c.id)
                         .outerjoin(money, money.c.submission_id == submissions.c.id))
            .where(submission_ids(submissions.c.id)))


TOTAL_COLUMNS = ("submission_id", "schools_reported", *COUNT_KEYS, *TALLIES, *HOME_KEYS,
                 *MONEY_KEYS)


def refresh(connection, first_id: int, last_id: int | None = None) -> None:
    """(Re)write the totals of submissions `first_id`..`last_id` inside the caller's
    transaction (`connection` is a Session or a Connection)."""
    ids = between(first_id, first_id if last_id is None else last_id)
    connection.execute(delete(TOTALS).where(ids(TOTALS.c.submission_id)))
    connection.execute(insert(TOTALS).from_select(list(TOTAL_COLUMNS), totals_select(ids)))


def rebuild(connection) -> None:
    """Every submission's totals again (after a change of master data, or to check)."""
    last = connection.execute(select(func.max(Submission.id))).scalar()
    if last is not None:
        refresh(connection, 0, last)
