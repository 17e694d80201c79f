"""Formalism signals (形式主义): what papering over looks like in the data.

- the same progress text week after week (copy-paste);
- a percent jump without any new evidence that week, measured from the percent the report form
  offered (see ``_offered_percent``): a number the liaison left as the form prefilled it is not
  their claim and raises no signal, whatever an unconfirmed report of last week said;
- reported percent far behind the expected line;
- units whose reports and applications keep being returned.
Each signal names the measure and the reports behind it, so the office can look.
"""

import datetime
import difflib
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, Subquery

from .lights import BEHIND_MARGIN, expected_percent
from .models import Evidence, ProgressReport, SignOffStep
from .workdays import iso_week_of, week_monday

SIMILAR_RATIO = 0.9
JUMP_WITHOUT_EVIDENCE = 10
MANY_RETURNS = 3


@dataclass
class Signal:
    kind: str
    label: str
    measure_id: int | None = None
    measure_code: str = ""
    unit: str = ""
    detail: str = ""
    report_ids: list = field(default_factory=list)


def text_similarity(a, b, *, at_least=0.0):
    """difflib's ratio of the two texts; below ``at_least`` it may return any smaller value.

    ``quick_ratio`` is an upper bound of ``ratio`` that costs a fraction of it, so pairs that
    cannot reach ``at_least`` skip the full comparison.
    """
    a, b = (a or "").strip(), (b or "").strip()
    if not a or not b:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b)
    if at_least and (bound := matcher.quick_ratio()) < at_least:
        return bound
    return matcher.ratio()


def _offered_percent():
    """The percent the weekly report form offered a report: a new week's row is prefilled with the
    measure's standing, which only a confirmed report sets, so it is the percent of the latest
    confirmed report of an earlier week (None when there is none: then the form offered what the
    ledger held, which nothing records, and last week's report is the base, as before).

    Why not simply last week's report: when that one was returned or is still waiting for the
    unit head, the form did not offer its number. A liaison who left the prefilled 70% after a
    returned 30% changed nothing, and comparing with the 30% flagged a jump they never made.
    """
    earlier = Q(iso_year__lt=OuterRef("iso_year")) | Q(iso_year=OuterRef("iso_year"), iso_week__lt=OuterRef("iso_week"))
    return Subquery(
        ProgressReport.objects.filter(earlier, measure_id=OuterRef("measure_id"), state=ProgressReport.State.CONFIRMED)
        .order_by("-iso_year", "-iso_week", "-version")
        .values("percent")[:1]
    )


def formalism_signals(*, measures, today, scope=None):
    """Signals over ``measures`` for the last full week and this one.

    ``measures`` is an access-filtered queryset, or the list of its rows when the caller has
    already loaded them with their owner units (the office dashboard), which saves reading them
    twice; such a caller also passes the queryset they came from as ``scope``, so that the
    reports and evidence are selected by a subquery rather than a list of a thousand ids.
    """
    iso_year, iso_week = iso_week_of(today)
    previous = iso_week_of(today - datetime.timedelta(days=7))
    weeks = {(iso_year, iso_week), previous}
    measure_list = measures if isinstance(measures, list) else list(measures.select_related("owner_unit"))
    by_id = {m.pk: m for m in measure_list}
    wanted = Q(measure__in=scope.values("pk")) if scope is not None else Q(measure_id__in=by_id)
    reports = (
        ProgressReport.objects.filter(wanted)
        .filter(Q(iso_year=iso_year, iso_week=iso_week) | Q(iso_year=previous[0], iso_week=previous[1]))
        .exclude(state=ProgressReport.State.DRAFT)
        # Only what the signals compare: the long texts of plans and difficulties stay in the database.
        .only("measure_id", "iso_year", "iso_week", "version", "percent", "progress_this_week")
        .annotate(offered_percent=_offered_percent())
        .order_by("measure_id", "iso_year", "iso_week", "version")
    )
    latest = {}
    for report in reports:
        if report.measure_id in by_id and (report.iso_year, report.iso_week) in weeks:
            latest[(report.measure_id, report.iso_year, report.iso_week)] = report
    evidence_weeks = {
        (row["measure_id"], *iso_week_of(row["uploaded_at"].date()))
        for row in Evidence.objects.filter(wanted, uploaded_at__date__gte=week_monday(*previous)).values(
            "measure_id", "uploaded_at"
        )
    }

    signals = []
    for measure in measure_list:
        last = latest.get((measure.pk, *previous))
        this = latest.get((measure.pk, iso_year, iso_week))
        if last and this:
            ratio = text_similarity(last.progress_this_week, this.progress_this_week, at_least=SIMILAR_RATIO)
            if ratio >= SIMILAR_RATIO:
                signals.append(
                    Signal(
                        "copy",
                        "进展文字与上周雷同",
                        measure.pk,
                        measure.code,
                        measure.owner_unit.name,
                        f"相似度 {ratio:.0%}",
                        [last.pk, this.pk],
                    )
                )
            base = this.offered_percent if this.offered_percent is not None else last.percent
            jump = this.percent - base
            if jump >= JUMP_WITHOUT_EVIDENCE and (measure.pk, iso_year, iso_week) not in evidence_weeks:
                signals.append(
                    Signal(
                        "jump",
                        "进度大幅提高但无新佐证",
                        measure.pk,
                        measure.code,
                        measure.owner_unit.name,
                        f"{base}% → {this.percent}%",
                        [last.pk, this.pk],
                    )
                )
        expected = expected_percent(measure, today)
        if measure.percent + BEHIND_MARGIN < expected:
            signals.append(
                Signal(
                    "behind",
                    "进度明显滞后",
                    measure.pk,
                    measure.code,
                    measure.owner_unit.name,
                    f"实际 {measure.percent}% / 应达 {expected}%",
                )
            )
    return signals


def units_with_many_returns(*, measures, threshold=MANY_RETURNS):
    """Units whose weekly reports or close-out applications were returned ``threshold`` times or more.

    A weekly report is counted per measure and week: a row returned (whatever its versions, and
    however many of the unit's other rows went back with it) counts once for its measure, so a
    week returned whole is as many returns as the measures in it that were returned, never more.
    """
    returned_weeks = (
        ProgressReport.objects.filter(measure__in=measures)
        .exclude(return_reason="")
        .order_by()
        .values_list("measure__owner_unit_id", "measure__owner_unit__name", "measure_id", "iso_year", "iso_week")
        .distinct()
    )
    report_returns: dict[tuple[int, str], int] = {}
    for unit_id, unit_name, _measure, _year, _week in returned_weeks:
        report_returns[(unit_id, unit_name)] = report_returns.get((unit_id, unit_name), 0) + 1
    closeout_returns = {
        (row[0], row[1]): row[2]
        for row in SignOffStep.objects.filter(request__measure__in=measures, decision=SignOffStep.Decision.RETURNED)
        .order_by()
        .values_list("request__applicant_unit_id", "request__applicant_unit__name")
        .annotate(n=Count("id"))
    }
    rows = [
        {
            "unit_id": key[0],
            "unit": key[1],
            "reports": report_returns.get(key, 0),
            "closeouts": closeout_returns.get(key, 0),
        }
        for key in set(report_returns) | set(closeout_returns)
    ]
    return sorted(
        [row for row in rows if row["reports"] + row["closeouts"] >= threshold],
        # Ties by name, so the list reads the same on every load.
        key=lambda row: (-(row["reports"] + row["closeouts"]), row["unit"], row["unit_id"]),
    )
