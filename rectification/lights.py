"""The warning light (预警) and expected progress of a measure, derived, never stored.

The one definition of what a measure's light and label are; every page, job and export reads
it from here. In order of precedence (the first that holds wins):

1. closed (已销号): the close-out was approved;
2. review (审核中): a close-out waits for the lead unit, a leader or the office — the page says
   who holds it ("待牵头单位审核：区财政局"); the owner unit cannot act on it, so it gets no
   督办单 and no reminder for it (services/cycle.py) and the reviewer is chased instead;
3. green (正常) for a completed measure;
4. red (逾期): past its due date, or a milestone more than a week overdue;
5. yellow (临期): due within 7 days, or a milestone overdue (the page names the milestone);
6. grey (停滞): started but no confirmed update for 7 days or more;
7. green (正常): everything else.

A returned or reopened close-out is the unit's to act on again, so it takes the light of its dates.
"""

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CloseOutState, ProgressState

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DUE_SOON_DAYS = 7
STALLED_DAYS = 7
# Reported percent this far below the expected line counts as 滞后 (behind schedule).
BEHIND_MARGIN = 20


@dataclass(frozen=True)
class Light:
    code: str
    label: "StrOrPromise"
    rank: int  # lower is more urgent, for sorting a worklist


RED = Light("red", _("逾期"), 0)
YELLOW = Light("yellow", _("临期"), 1)
GREY = Light("grey", _("停滞"), 2)
IN_REVIEW = Light("review", _("审核中"), 3)
GREEN = Light("green", _("正常"), 4)
CLOSED = Light("closed", _("已销号"), 5)
# The lights a list can be filtered by (closed measures are never in the lists of open work).
LIGHTS = (RED, YELLOW, GREY, IN_REVIEW, GREEN)

# A close-out in one of these states waits for someone other than the owner unit.
REVIEW_STATES = (CloseOutState.PENDING_LEAD_UNIT, CloseOutState.PENDING_LEADER, CloseOutState.PENDING_OFFICE)
# 督责任 applies to reviewers too: an item left with a reviewer this many days is escalated to
# them, the same number of days after which a unit's measure without an update turns grey (停滞).
REVIEW_STUCK_DAYS = STALLED_DAYS


def expected_percent(measure, today):
    """Linear from the start date (0%) to the due date (100%)."""
    span = (measure.due_date - measure.start_date).days
    if span <= 0:
        return 100 if today >= measure.due_date else 0
    elapsed = (today - measure.start_date).days
    return max(0, min(100, round(100 * elapsed / span)))


def is_behind(measure, today):
    return measure.percent + BEHIND_MARGIN < expected_percent(measure, today)


def measure_light(measure, today, *, oldest_open_milestone_due=None, now=None):
    """The light of one measure; ``oldest_open_milestone_due`` is the earliest undone milestone's date."""
    if measure.closeout_state == CloseOutState.CLOSED:
        return CLOSED
    if measure.closeout_state in REVIEW_STATES:
        return IN_REVIEW
    if measure.progress_state == ProgressState.COMPLETED:
        return GREEN
    if measure.due_date < today:
        return RED
    if oldest_open_milestone_due is not None and oldest_open_milestone_due < today:
        late_by = (today - oldest_open_milestone_due).days
        return RED if late_by > DUE_SOON_DAYS else YELLOW
    if (measure.due_date - today).days <= DUE_SOON_DAYS:
        return YELLOW
    if measure.start_date <= today - datetime.timedelta(days=STALLED_DAYS):
        last = measure.last_reported_at
        if last is None or (today - timezone.localtime(last).date()).days >= STALLED_DAYS:
            return GREY
    return GREEN


def light_q(light_code, today):
    """The same rule as ``measure_light``, as a database filter over open measures.

    Lets a list page filter by light in SQL instead of collecting ids in Python; a test checks
    that both forms agree on every measure.
    """
    from django.db.models import Exists, OuterRef, Q

    from .models import Milestone

    week = datetime.timedelta(days=DUE_SOON_DAYS)
    closed = Q(closeout_state=CloseOutState.CLOSED)
    review = ~closed & Q(closeout_state__in=REVIEW_STATES)
    finished = closed | review | Q(progress_state=ProgressState.COMPLETED)
    late_milestone = Exists(Milestone.objects.open().filter(measure=OuterRef("pk"), due_date__lt=today))
    very_late_milestone = Exists(Milestone.objects.open().filter(measure=OuterRef("pk"), due_date__lt=today - week))
    red = ~finished & (Q(due_date__lt=today) | very_late_milestone)
    yellow = ~finished & ~red & (late_milestone | Q(due_date__lte=today + week))
    stale_since = timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=STALLED_DAYS - 1), datetime.time())
    )
    grey = (
        ~finished
        & ~red
        & ~yellow
        & Q(start_date__lte=today - datetime.timedelta(days=STALLED_DAYS))
        & (Q(last_reported_at__isnull=True) | Q(last_reported_at__lt=stale_since))
    )
    green = ~closed & ~review & ~red & ~yellow & ~grey
    return {"red": red, "yellow": yellow, "grey": grey, "review": review, "green": green, "closed": closed}[light_code]


def with_oldest_open_milestone(measures):
    """Annotate ``oldest_open_milestone``: the earliest undone milestone's date, for ``measure_light``."""
    from django.db.models import OuterRef, Subquery

    from .models import Milestone

    oldest = Milestone.objects.open().filter(measure=OuterRef("pk")).order_by("due_date")
    return measures.annotate(oldest_open_milestone=Subquery(oldest.values("due_date")[:1]))


def with_light_inputs(measures):
    """What ``mark_lights`` reads, in the one SELECT of ``measures``: the earliest undone milestone
    (date and title) and the problem's lead unit and lead official (who holds a close-out)."""
    from django.db.models import OuterRef, Subquery

    from .models import Milestone

    oldest = Milestone.objects.open().filter(measure=OuterRef("pk")).order_by("due_date", "seq")
    return measures.select_related("problem__lead_unit", "problem__lead_official").annotate(
        oldest_open_milestone=Subquery(oldest.values("due_date")[:1]),
        oldest_open_milestone_title=Subquery(oldest.values("title")[:1]),
    )


def review_holder(closeout_state, *, lead_unit, leader):
    """Who holds a close-out waiting for review, as the pages say it: "待牵头单位审核：区财政局"."""
    if closeout_state == CloseOutState.PENDING_LEAD_UNIT:
        return f"{CloseOutState.PENDING_LEAD_UNIT.label}：{lead_unit}"
    if closeout_state == CloseOutState.PENDING_LEADER:
        return f"{CloseOutState.PENDING_LEADER.label}：{leader}"
    if closeout_state == CloseOutState.PENDING_OFFICE:
        return str(CloseOutState.PENDING_OFFICE.label)
    return ""


def light_note(measure, light, today, *, milestone_due=None, milestone_title=None):
    """What the page says next to the light: who holds a measure in review, which milestone is late."""
    if light is IN_REVIEW:
        problem = measure.problem
        return review_holder(
            measure.closeout_state,
            lead_unit=problem.lead_unit.display_name,
            leader=problem.lead_official,
        )
    if light in (RED, YELLOW) and measure.due_date >= today and milestone_due is not None and milestone_due < today:
        return _("里程碑“%(title)s”已逾期%(days)s天") % {
            "title": milestone_title or "",
            "days": (today - milestone_due).days,
        }
    return ""


def mark_lights(measures, today):
    """Set ``light`` and ``light_note`` on measures read through ``with_light_inputs``."""
    for measure in measures:
        due = measure.oldest_open_milestone
        measure.light = measure_light(measure, today, oldest_open_milestone_due=due)
        measure.light_note = light_note(
            measure, measure.light, today, milestone_due=due, milestone_title=measure.oldest_open_milestone_title
        )
    return measures


def problem_light(measure_lights):
    """A problem's light on the battle board: that of its most urgent measure; None with no measure
    yet (the board says 未分解). Closed measures count only when all are closed."""
    lights = list(measure_lights)
    if not lights:
        return None
    return min(lights, key=lambda light: light.rank)


def _stuck_cut(today):
    """Waiting since before this moment means waiting ``REVIEW_STUCK_DAYS`` days or more today."""
    return timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=REVIEW_STUCK_DAYS - 1), datetime.time())
    )


def reports_stuck_with_heads(reports, today):
    """Weekly reports submitted and left with the unit head (not confirmed nor returned)
    ``REVIEW_STUCK_DAYS`` days or more: the same rule as for close-outs, for the other reviewer."""
    from .models import ProgressReport

    return reports.filter(state=ProgressReport.State.SUBMITTED, submitted_at__lt=_stuck_cut(today))


def stuck_in_review(requests, today):
    """The close-out requests of ``requests`` left with a reviewer ``REVIEW_STUCK_DAYS`` days or more.

    Annotates ``waiting_since``: when the request reached its current reviewer (its latest
    sign-off step). The dashboard's list and card and the weekly cycle's escalation read this.
    """
    from django.db.models import Max
    from django.db.models.functions import Coalesce

    from .models import CloseOutRequest

    since_cut = _stuck_cut(today)
    pending = [
        CloseOutRequest.State.PENDING_LEAD_UNIT,
        CloseOutRequest.State.PENDING_LEADER,
        CloseOutRequest.State.PENDING_OFFICE,
    ]
    return (
        requests.filter(state__in=pending)
        .annotate(waiting_since=Coalesce(Max("steps__created_at"), "created_at"))
        .filter(waiting_since__lt=since_cut)
    )


def waiting_days(waiting_since, today):
    return (today - timezone.localtime(waiting_since).date()).days
