"""The demo's submissions: who sends what when, and what the county did with it — late
and skipped months, a returned latest month, and older months first sent with last month's
school sheet copied over, returned and corrected."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from liushou_dash.core.models import APPROVED, RETURNED, SUBMITTED
from liushou_dash.core.periods import due_date
from liushou_dash.demo.profiles import Profile

DEADLINE_DAY = 5
SHEETS_ALL = ("schools", "homes", "funding")

RETURN_COMMENTS = (
    "{school}留守儿童数较上月变化较大，请核实后重新上报。",
    "{school}已结对帮扶人数少于上月，请说明原因或更正后重新上报。",
    "{school}寄宿人数与学校实际寄宿生情况不符，请核实后重新上报。",
)
COPY_COMMENT = "学校月报与上月数据完全相同，疑似未更新，请核实后重新上报。"


@dataclass
class Upload:
    township: str
    index: int                    # period index
    submitted_at: dt.datetime
    status: str = SUBMITTED
    comment: str | None = None
    copied_last_month: bool = False  # a first version the county sent back, then corrected
    sheets: tuple[str, ...] = SHEETS_ALL
    reviewed_at: dt.datetime | None = None


def _clamp(moment: dt.datetime, today: dt.date) -> dt.datetime:
    """Nothing happens after the end of `today`'s working day, nor, when `today` is the real
    today, after now (a database seeded in the morning would list uploads "later today")."""
    end = dt.datetime.combine(today, dt.time(17, 30))
    if today == dt.date.today():
        end = min(end, dt.datetime.now().replace(second=0, microsecond=0))
    return min(moment, end)


def _submitted_at(rng, profile: Profile, period: str, today: dt.date) -> dt.datetime:
    """Most clerks send in the first days of the next month; late-prone ones usually miss
    the deadline by a few days to two weeks, others rarely."""
    due = due_date(period, DEADLINE_DAY)
    late = rng.random() < (0.6 if profile.late_prone else 0.04)
    day = due + dt.timedelta(days=int(rng.integers(1, 13)) if late else -int(rng.integers(0, 5)))
    moment = dt.datetime.combine(day, dt.time(int(rng.integers(8, 18)), int(rng.integers(60))))
    return _clamp(moment, today)


def _review(rng, upload: Upload, status: str, today: dt.date, comment: str | None = None):
    upload.status, upload.comment = status, comment
    upload.reviewed_at = _clamp(upload.submitted_at + dt.timedelta(
        days=int(rng.integers(1, 4)), hours=int(rng.integers(0, 6))), today)


def plan_uploads(profiles: dict[str, Profile], periods: list[str], schools: pd.DataFrame,
                 today: dt.date, rng: np.random.Generator) -> list[Upload]:
    """Every upload in the order it is stored. Older months are approved, the latest is
    mostly awaiting review with one or two sent back; a few older months were first sent
    with last month's school sheet copied over, returned, and corrected."""
    latest = len(periods) - 1
    uploads: list[Upload] = []
    for index, period in enumerate(periods):
        for code, profile in profiles.items():
            if index in profile.skipped or (index == latest and profile.latest_missing):
                continue
            upload = Upload(code, index, _submitted_at(rng, profile, period, today))
            if index < latest:
                _review(rng, upload, APPROVED, today)
            elif profile.returned_latest:
                names = schools.loc[schools["township_code"] == code, "name"].to_numpy()
                comment = RETURN_COMMENTS[int(rng.integers(len(RETURN_COMMENTS)))]
                _review(rng, upload, RETURNED, today,
                        comment.format(school=names[int(rng.integers(len(names)))]))
            uploads.append(upload)
    return _with_corrections(uploads, latest, today, rng)


def _with_corrections(uploads: list[Upload], latest: int, today: dt.date,
                      rng: np.random.Generator) -> list[Upload]:
    """About one township-month in a hundred (at least one) gets a returned first version."""
    candidates = [i for i, u in enumerate(uploads) if 1 <= u.index < latest]
    if not candidates:
        return uploads
    chosen = set(rng.choice(candidates, size=max(1, round(len(candidates) / 100)),
                            replace=False).tolist())
    result = []
    for i, upload in enumerate(uploads):
        if i in chosen:
            first = Upload(upload.township, upload.index, upload.submitted_at,
                           copied_last_month=True)
            first.status, first.comment = RETURNED, COPY_COMMENT
            first.reviewed_at = first.submitted_at + dt.timedelta(hours=int(rng.integers(2, 6)))
            # The clerk re-sends only the school sheet; homes and funding carry over.
            upload.submitted_at = first.reviewed_at + dt.timedelta(
                days=int(rng.integers(1, 3)), hours=int(rng.integers(0, 4)))
            upload.sheets = ("schools",)
            _review(rng, upload, upload.status, today, upload.comment)
            result.append(first)
        result.append(upload)
    return result
