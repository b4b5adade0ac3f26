"""Five-field cron expressions (minute hour day-of-month month day-of-week, in UTC) for scheduled rescans:
`*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n` and `a-b/n`; day-of-week 0-7 (0 and 7: Sunday). As in cron,
when both day fields are restricted a day matches either."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vigil.errors import UserError

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
MAX_LOOKBACK_MINUTES = 7 * 24 * 60  # an operator down longer than a week catches up with one rescan, not many


def _field(text: str, name: str, lo: int, hi: int) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if rng == "*":
                a, b = lo, hi
            elif "-" in rng:
                a_text, b_text = rng.split("-", 1)
                a, b = int(a_text), int(b_text)
            else:
                a = b = int(rng)
                if step_text:
                    b = hi
        except ValueError:
            raise UserError(f"cron {name} field {text!r}: not a number, range or step") from None
        if step < 1 or not (lo <= a <= b <= hi):
            raise UserError(f"cron {name} field {text!r}: outside {lo}-{hi}")
        out.update(range(a, b + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 5:
            raise UserError(f"cron expression {text!r}: expected 5 fields (minute hour day month weekday)")
        m, h, d, mo, w = (_field(p, *f) for p, f in zip(parts, _FIELDS, strict=True))
        return cls(m, h, d, mo, frozenset(x % 7 for x in w), parts[2] == "*", parts[4] == "*")

    def matches(self, t: dt.datetime) -> bool:
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        day, weekday = t.day in self.days, (t.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday

    def fired(self, after: float, until: float) -> bool:
        """Whether the schedule fired in (after, until] (Unix times)."""
        start = max(after, until - MAX_LOOKBACK_MINUTES * 60)
        t = dt.datetime.fromtimestamp(start, dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        end = dt.datetime.fromtimestamp(until, dt.UTC)
        while t <= end:
            if self.matches(t):
                return True
            t += dt.timedelta(minutes=1)
        return False
