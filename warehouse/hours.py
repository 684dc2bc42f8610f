"""Opening hours as published -> weekly schedules; what cannot be read stays unknown, never guessed.

Two source shapes are read:

- **per-day columns** (Chicago's warming centres: ``MONDAY-OPEN`` ``10:00AM``, ``MONDAY-CLOSE`` ``6:00PM``,
  ``CLOSED``): :func:`parse_day_columns`. The loader packs them into ``services.hours_by_day`` (JSON, day ->
  [open, close] as published) when the profile names them in ``options.hours_columns``.
- **free text** (``hours``): :func:`parse_hours_text`. The formats met in the real data::

      M, W: 10am-6pm;  Tu, Th: 12pm-8pm; F, Sa: 9am-5pm; Su: Closed
      Sun., Closed; Mon. & Wed., Noon-8; Tue. & Thu., 10-6; Fri. & Sat., 9-5
      Mon - Fri 8:30 A.M. To 4:30 P.M. Sat - Sun 9:00 A.M. To 4:00 P.M
      Mon, Wed, Fri: 8:00 am – 4:00 pm; Tue, and Thurs: 10:00 am - 6:00pm
      Mon-Thu 10-18; Fri-Sat 9-17; Sun closed            (24-hour clock)

Rules (documented in docs/locator.md, tested against the real strings):

- The text is cut into pieces at ``;`` and line breaks; within a piece, day names (``M``, ``Tu``, ``Thurs``,
  ``Mon.``, ``Saturday``...), day ranges (``Mon - Fri``, ``M-th``), ``daily``/``weekdays``/``weekends`` collect
  the days that the next time range(s) or ``closed`` apply to.
- A piece with anything left over that is not a day, a time range, ``closed`` or punctuation (e.g. the stray
  ``l`` of ``9-5l``), or with days but no times (``Open Saturday And Sunday``), is **not read**: its days stay
  unknown and the piece is kept in ``problems``. Other pieces of the same text still count.
- Text in parentheses is a condition (``(Nov-Mar: Mon-Sun 0-24 below 32F)``): kept in ``conditions``, not
  applied.
- Times with ``am``/``pm`` (or ``noon``/``midnight``) are exact. A range with an hour above 12, or ``0``, is
  read as a 24-hour clock (``9-17``, ``0-24``). A range of bare hours of 12 or less (``10-6``, ``Noon-8``,
  ``9-9``, ``1-5``) is read as a daytime range: an opening hour of 7-11 is morning, 12 is noon, 1-5 is
  afternoon, and the closing time is the first one after the opening (``10-6`` = 10:00-18:00). Any other bare
  opening hour (6, 12 excluded) is ambiguous and the piece is not read. The Chicago warming-centre file gives
  the same libraries' hours both ways (text with am/pm and per-day columns), which is how the rule is checked.
- ``11:59 PM`` as a closing time is read as midnight (24:00): the sources write "open all day" as
  ``12:00AM``-``11:59PM``. A closing time earlier than the opening time runs past midnight into the next day.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # keys of services.hours_by_day
MINUTES_PER_DAY = 1440

_DAY_WORDS = {
    1: ("monday", "mon", "m"),
    2: ("tuesday", "tues", "tue", "tu"),
    3: ("wednesday", "wed", "w"),
    4: ("thursday", "thurs", "thur", "thu", "th"),
    5: ("friday", "fri", "f"),
    6: ("saturday", "sat", "sa"),
    7: ("sunday", "sun", "su"),
}
_DAY_OF = {w: d for d, words in _DAY_WORDS.items() for w in words}
_GROUPS = {"daily": range(1, 8), "everyday": range(1, 8), "weekdays": range(1, 6), "weekends": range(6, 8),
           "weekend": range(6, 8)}
_TIME = r"(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)?|noon|midnight)"
_TOKEN = re.compile(
    rf"(?P<range>(?P<t1>{_TIME})\s*-\s*(?P<t2>{_TIME}))"
    r"|(?P<closed>\bclosed\b)"
    r"|(?P<allday>\b(?:open\s+)?24\s*(?:hours|hrs)\b|\b24/7\b)"
    r"|(?P<group>\b(?:daily|every\s*day|weekdays|weekends?)\b)"
    r"|(?P<day>\b(?:" + "|".join(sorted(_DAY_OF, key=len, reverse=True)) + r")\b)"
    r"|(?P<dash>-)"
    r"|(?P<sep>[\s,.:&/]+|\band\b|\bopen\b)",
)
_ONE_TIME = re.compile(r"^(?:(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<s>am|pm)?|(?P<word>noon|midnight))$")


@dataclass
class Schedule:
    """A weekly schedule: ISO day (1 = Monday) -> [(open, close)] in minutes since that day's midnight.

    A day absent from ``days`` is **unknown**; a day mapped to ``[]`` is closed all day. ``close`` may exceed
    1440 when a range runs past midnight (it then covers the start of the next day).
    """

    days: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    source: str = "none"           # per_day_columns | hours_text | none
    text: str | None = None        # what was read, as published
    problems: list[str] = field(default_factory=list)   # pieces that could not be read
    conditions: str | None = None  # parenthesised conditions, not applied

    @property
    def status(self) -> str:
        """``weekly`` (all seven days known), ``partial`` (some), ``unknown`` (none)."""
        if len(self.days) == 7:
            return "weekly"
        return "partial" if self.days else "unknown"

    def is_open(self, day: int, minute: int) -> bool | None:
        """Open on ISO ``day`` at ``minute`` (0-1439)? None when the schedule does not say."""
        today = self.days.get(day)
        prev = self.days.get(7 if day == 1 else day - 1) or []
        if any(o <= minute + MINUTES_PER_DAY < c for o, c in prev):
            return True
        if today is None:
            return None
        return any(o <= minute < c for o, c in today)

    def describe(self) -> str:
        """``Mon 10:00-18:00; Tue closed; Wed ?`` (``?`` = unknown)."""
        parts = []
        for d in range(1, 8):
            iv = self.days.get(d)
            text = "?" if iv is None else "closed" if not iv else ", ".join(f"{fmt_minute(o)}-{fmt_minute(c)}"
                                                                             for o, c in iv)
            parts.append(f"{DAY_ABBR[d - 1]} {text}")
        return "; ".join(parts)

    def as_json(self) -> str:
        return json.dumps({DAY_KEYS[d - 1]: [[o, c] for o, c in iv] for d, iv in sorted(self.days.items())})


def fmt_minute(m: int) -> str:
    """Minutes -> ``HH:MM`` (1440 -> ``24:00``; past midnight -> ``+01:30``)."""
    if m > MINUTES_PER_DAY:
        return "+" + fmt_minute(m - MINUTES_PER_DAY)
    return f"{m // 60:02d}:{m % 60:02d}"


def as_day_minute(when) -> tuple[int, int]:
    """A datetime or (ISO day, minute) -> (ISO day, minute)."""
    if isinstance(when, datetime):
        return when.isoweekday(), when.hour * 60 + when.minute
    day, minute = when
    return int(day), int(minute)


_AT = re.compile(r"^\s*(?P<day>[a-z]+)\.?\s*,?\s*(?P<time>\d{1,2}(?::\d{2})?\s*(?:am|pm)?|noon|midnight)\s*$")


def parse_at(text: str, *, now: datetime | None = None) -> tuple[int, int]:
    """``"Sat 10:00"``, ``"saturday 10am"``, ``"2024-01-06 10:00"``, ``"now"`` -> (ISO day, minute).

    Raises ValueError naming the accepted forms."""
    raw = str(text or "").strip()
    if raw.lower() == "now":
        return as_day_minute(now or datetime.now())
    try:
        return as_day_minute(datetime.fromisoformat(raw))
    except ValueError:
        pass
    m = _AT.match(_normalise(raw))
    if m and m.group("day") in _DAY_OF:
        minute = _time_of(m.group("time"), closing=False)
        if minute is not None and minute < MINUTES_PER_DAY:
            return _DAY_OF[m.group("day")], minute
    raise ValueError(f"cannot read the time {text!r}: give a day and a time ('Sat 10:00', 'Tuesday 6pm'), "
                     "an ISO date and time ('2024-01-06 10:00') or 'now'")


# ----------------------------------------------------------------------------------------------- parsing

def _normalise(text: str) -> str:
    t = text.lower()
    t = re.sub(r"[\u2013\u2014\u2212\u2010\u2011]", "-", t)
    t = re.sub(r"(\d)\s*([ap])\.?\s*m\b\.?", r"\1\2m", t)     # 8:30 A.M. -> 8:30am
    t = re.sub(r"\b(?:to|thru|through|until|till)\b", "-", t)
    t = re.sub(r"\bevery\s+day\b", "everyday", t)
    return t


def _time_parts(token: str):
    m = _ONE_TIME.match(token.strip())
    if not m:
        return None
    if m.group("word") == "noon":
        return 12, 0, "pm"
    if m.group("word") == "midnight":
        return 0, 0, "midnight"
    return int(m.group("h")), int(m.group("m") or 0), m.group("s")


def _time_of(token: str, *, closing: bool) -> int | None:
    """A single explicit time -> minutes (``10am``, ``17:30``, ``noon``); None when ambiguous."""
    parts = _time_parts(token)
    if parts is None:
        return None
    h, mi, s = parts
    if s == "midnight":
        return MINUTES_PER_DAY if closing else 0
    if s in ("am", "pm"):
        if not 1 <= h <= 12 or mi > 59:
            return None
        return (h % 12 + (12 if s == "pm" else 0)) * 60 + mi
    if h <= 24 and mi <= 59:
        return h * 60 + mi
    return None


def _with_suffix(h: int, mi: int, s: str) -> int:
    return (h % 12 + (12 if s == "pm" else 0)) * 60 + mi


def _shortest_after(open_m: int, candidates: list[int]) -> int:
    """The closing candidate that comes first after ``open_m`` (wrapping past midnight)."""
    return min((c if c > open_m else c + MINUTES_PER_DAY) for c in candidates)


def parse_range(t1: str, t2: str) -> tuple[int, int] | None:
    """``("10am", "6pm")`` -> (600, 1080); the rules of the module doc; None when it cannot be read."""
    a, b = _time_parts(t1), _time_parts(t2)
    if a is None or b is None:
        return None
    (h1, m1, s1), (h2, m2, s2) = a, b
    if m1 > 59 or m2 > 59:
        return None
    if s1 == "midnight":
        s1, h1 = "am", 12
    if s2 == "midnight":
        s2, h2 = "am", 12
    if s1 and s2:
        if not (1 <= h1 <= 12 and 1 <= h2 <= 12):
            return None
        o, c = _with_suffix(h1, m1, s1), _with_suffix(h2, m2, s2)
    elif not s1 and not s2 and (h1 > 12 or h2 > 12 or h1 == 0 or h2 == 0):   # 24-hour clock
        if h1 > 24 or h2 > 24:
            return None
        o, c = h1 * 60 + m1, h2 * 60 + m2
        if o >= MINUTES_PER_DAY:
            return None
        if c == 0:
            c = MINUTES_PER_DAY
    elif s2 and not s1:        # "9-5pm": the opening hour that comes first before the closing time
        if not (1 <= h1 <= 12 and 1 <= h2 <= 12):
            return None
        c = _with_suffix(h2, m2, s2)
        o = max(_with_suffix(h1, m1, s) for s in ("am", "pm") if _with_suffix(h1, m1, s) < c) \
            if any(_with_suffix(h1, m1, s) < c for s in ("am", "pm")) else None
        if o is None:
            return None
    elif s1 and not s2:        # "9am-5": the closing hour that comes first after the opening
        if not (1 <= h1 <= 12 and 1 <= h2 <= 12):
            return None
        o = _with_suffix(h1, m1, s1)
        c = _shortest_after(o, [_with_suffix(h2, m2, s) for s in ("am", "pm")])
    else:                      # bare daytime hours: "10-6", "9-9", "1-5"
        if not (1 <= h1 <= 12 and 1 <= h2 <= 12):
            return None
        if 7 <= h1 <= 11:
            o = h1 * 60 + m1
        elif h1 == 12:
            o = 12 * 60 + m1
        elif 1 <= h1 <= 5:
            o = (h1 + 12) * 60 + m1
        else:
            return None
        c = _shortest_after(o, [_with_suffix(h2, m2, s) for s in ("am", "pm")])
    if c == 23 * 60 + 59:
        c = MINUTES_PER_DAY
    if c <= o:
        c += MINUTES_PER_DAY
    if c == o or c - o > MINUTES_PER_DAY:
        return None
    return o, c


def _parse_piece(piece: str) -> tuple[dict[int, list[tuple[int, int]]], str | None]:
    """One ``;``-piece -> (day assignments, problem or None). On a problem nothing of the piece counts."""
    out: dict[int, list[tuple[int, int]]] = {}
    pending: list[int] = []
    assigned = False           # the pending days already got a time range / closed
    last_day: int | None = None
    dash = False
    pos = 0
    while pos < len(piece):
        m = _TOKEN.match(piece, pos)
        if not m or m.end() == pos:
            return {}, f"cannot read {piece.strip()!r} (at {piece[pos:pos + 12].strip()!r})"
        pos = m.end()
        kind = m.lastgroup if m.lastgroup in ("range", "closed", "allday", "group", "day", "dash", "sep") else None
        if m.group("range"):
            kind = "range"
        if kind == "sep":
            continue
        if kind == "dash":
            if last_day is None:
                return {}, f"cannot read {piece.strip()!r} (a dash without a day before it)"
            dash = True
            continue
        if kind in ("day", "group"):
            if assigned:
                pending, assigned = [], False
            if kind == "group":
                days = list(_GROUPS[re.sub(r"\s+", "", m.group("group"))])
                pending += [d for d in days if d not in pending]
                last_day, dash = None, False
                continue
            d = _DAY_OF[m.group("day")]
            if dash and last_day is not None:
                span, k = [], last_day
                while k != d:
                    k = k % 7 + 1
                    span.append(k)
                pending += [x for x in span if x not in pending]
            elif d not in pending:
                pending.append(d)
            last_day, dash = d, False
            continue
        dash = False
        if not pending:
            return {}, f"cannot read {piece.strip()!r} (hours without days)"
        if kind == "closed":
            for d in pending:
                out[d] = []
        elif kind == "allday":
            for d in pending:
                out[d] = [(0, MINUTES_PER_DAY)]
        else:
            rng = parse_range(m.group("t1"), m.group("t2"))
            if rng is None:
                return {}, f"cannot read the times {m.group('range').strip()!r} in {piece.strip()!r}"
            for d in pending:
                if not assigned or d not in out:
                    out[d] = []
                out[d].append(rng)
        assigned, last_day = True, None
    if pending and not assigned:
        return {}, f"cannot read {piece.strip()!r} (days without times)"
    return out, None


def parse_hours_text(text: str | None) -> Schedule:
    """Free-text opening hours -> :class:`Schedule` (see the module doc)."""
    if text is None or not str(text).strip():
        return Schedule(source="none", text=text)
    raw = str(text)
    conditions = "; ".join(c.strip() for c in re.findall(r"\(([^)]*)\)", raw)) or None
    body = _normalise(re.sub(r"\([^)]*\)", " ", raw))
    sched = Schedule(source="hours_text", text=raw, conditions=conditions)
    for piece in re.split(r"[;\n]+", body):
        if not piece.strip(" .,"):
            continue
        days, problem = _parse_piece(piece)
        if problem:
            sched.problems.append(problem)
            continue
        for d, iv in days.items():
            sched.days[d] = sorted(iv)
    return sched


def parse_day_columns(by_day) -> Schedule:
    """Per-day open/close values as published (``{"mon": ["10:00AM", "6:00PM"], "sun": ["CLOSED", "CLOSED"]}``,
    or its JSON text) -> :class:`Schedule`. A day with an empty value stays unknown."""
    if by_day is None:
        return Schedule(source="none")
    data = json.loads(by_day) if isinstance(by_day, str) else dict(by_day)
    sched = Schedule(source="per_day_columns", text=json.dumps(data) if not isinstance(by_day, str) else by_day)
    for key, value in data.items():
        k = str(key).strip().lower()[:3]
        if k not in DAY_KEYS:
            sched.problems.append(f"unknown day {key!r}")
            continue
        d = DAY_KEYS.index(k) + 1
        opens, closes = (list(value) + [None, None])[:2] if isinstance(value, (list, tuple)) else (value, None)
        o_txt = str(opens).strip().lower() if opens is not None else ""
        c_txt = str(closes).strip().lower() if closes is not None else ""
        if not o_txt and not c_txt:
            continue
        if o_txt == "closed" and c_txt in ("closed", ""):
            sched.days[d] = []
            continue
        o = _time_of(_normalise(o_txt), closing=False)
        c = _time_of(_normalise(c_txt), closing=True)
        if o is None or c is None or o >= MINUTES_PER_DAY:
            sched.problems.append(f"cannot read {DAY_NAMES[d - 1]} {opens!r}-{closes!r}")
            continue
        if c == 23 * 60 + 59:
            c = MINUTES_PER_DAY
        if c <= o:
            c += MINUTES_PER_DAY
        sched.days[d] = [(o, c)]
    return sched


def schedule_of(*, hours: str | None, hours_by_day: str | None) -> Schedule:
    """The schedule of one service: its per-day columns when they give any day, else its hours text.

    When both exist, days the columns leave unknown are not filled from the text (the two may date from
    different times); the text is still parsed and any disagreement is listed in ``problems``."""
    cols = parse_day_columns(hours_by_day) if hours_by_day else None
    text = parse_hours_text(hours)
    if cols is not None and cols.days:
        if text.days:
            differ = [DAY_ABBR[d - 1] for d in sorted(set(cols.days) & set(text.days)) if cols.days[d] != text.days[d]]
            if differ:
                cols.problems.append(f"the hours text disagrees with the per-day columns on {', '.join(differ)}")
        cols.problems += [f"hours text: {p}" for p in text.problems]   # kept, though the columns win
        cols.conditions = text.conditions
        cols.text = hours if hours else cols.text
        return cols
    if cols is not None and cols.problems:
        text.problems = cols.problems + text.problems
    return text
