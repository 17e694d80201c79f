"""A number shown is a number checked: on the demo district and on two seeded random cities, every
number on the office dashboard that links to a list equals the rows of that list, and the headline
figures equal a count made here, independently, from the raw rows.

The link check walks the page itself, so a card added later is checked without touching this file;
the independent count restates the documented rule of each figure (closed, overdue, the lights) in
plain Python over raw rows, so a change to the one definition in ``rectification.lights`` that
the documentation does not follow shows up here.
"""

import datetime
import html
import io
import re
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from bench.city import CityScale, city_build
from rectification.demo import demo_load
from rectification.models import InspectionRound, Measure, Milestone, ProgressState

SMALL = CityScale(
    organs=4,
    departments=4,
    townships=3,
    users=70,
    leaders=4,
    rounds=2,
    problems=8,
    measures=30,
    reports=60,
    evidence=8,
    signoffs=6,
    weeks=4,
    notifications_per_user=1,
    evidence_files=2,
)
LARGER = CityScale(
    organs=6,
    departments=10,
    townships=6,
    users=160,
    leaders=8,
    rounds=2,
    problems=30,
    measures=150,
    reports=400,
    evidence=30,
    signoffs=20,
    weeks=6,
    notifications_per_user=1,
    evidence_files=2,
)

# A number that is a link to a list: ``<a href="/measures/?...">12</a>`` or a card
# ``<a class="stat" href="..."><span>红灯</span><strong>12</strong>...</a>``.
NUMBER_LINK = re.compile(
    r'<a[^>]*href="(?P<href>/(?:measures|problems|followup/[a-z]+)/\?[^"]*)"[^>]*>\s*'
    r"(?:<span>(?P<label>[^<]*)</span>\s*<strong>(?P<card>\d+)</strong>|(?P<plain>\d+)\s*</a>)"
)
LIST_TOTAL = re.compile(r"共 (\d+) (?:项|个问题)")


def _office(dataset):
    from accounts import access

    return access.office_staff().order_by("pk").first() or pytest.fail(f"{dataset}: no office account")


@pytest.fixture(params=["demo", "small city", "larger city"])
def district(request, db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    if request.param == "demo":
        demo_load()
    else:
        city_build(scale=SMALL if request.param == "small city" else LARGER, seed=11)
    return request.param


def _current_round():
    return InspectionRound.objects.order_by("-feedback_date", "-pk").first()


def _number_links(page):
    found = []
    for match in NUMBER_LINK.finditer(page):
        number = int(match.group("card") or match.group("plain"))
        found.append((html.unescape(match.group("href")), number, match.group("label") or ""))
    return found


def _list_total(client, href):
    response = client.get(href)
    assert response.status_code == 200, href
    totals = LIST_TOTAL.findall(response.content.decode())
    assert len(totals) == 1, f"{href}: the list must say its total once"
    return int(totals[0])


def _independent_lights(round_, today, measures=None):
    """The documented rule, restated over raw rows: red = past due (or a milestone more than 7 days
    late), yellow = due within 7 days (or a milestone late), grey = started, no confirmed update for 7
    days; closed measures, measures in review (a close-out waiting for someone) and completed ones
    are never lit. (逾期, the overdue count, goes by the due date alone, in review or not.)"""
    measures = measures if measures is not None else Measure.objects.filter(problem__round=round_)
    open_milestones = {}
    for measure_id, due in Milestone.objects.filter(
        measure__in=measures, done_on__isnull=True, waived_at__isnull=True
    ).values_list("measure_id", "due_date"):
        open_milestones[measure_id] = min(due, open_milestones.get(measure_id, due))
    lights = Counter()
    overdue = 0
    for measure in measures.values(
        "pk", "due_date", "start_date", "closeout_state", "progress_state", "last_reported_at"
    ):
        if measure["closeout_state"] == "closed":
            continue
        if measure["due_date"] < today and measure["progress_state"] != ProgressState.COMPLETED:
            overdue += 1
        in_review = measure["closeout_state"] in ("pending_lead_unit", "pending_leader", "pending_office")
        if in_review or measure["progress_state"] == ProgressState.COMPLETED:
            continue
        milestone = open_milestones.get(measure["pk"])
        if measure["due_date"] < today or (milestone and (today - milestone).days > 7):
            lights["red"] += 1
        elif (milestone and milestone < today) or (measure["due_date"] - today).days <= 7:
            lights["yellow"] += 1
        elif measure["start_date"] <= today - datetime.timedelta(days=7) and (
            measure["last_reported_at"] is None
            or (today - timezone.localtime(measure["last_reported_at"]).date()).days >= 7
        ):
            lights["grey"] += 1
    return lights, overdue


@pytest.mark.django_db
class TestEveryNumberAgrees:
    def test_every_number_on_the_dashboard_equals_the_list_it_links_to(self, district, client):
        client.force_login(_office(district))
        round_ = _current_round()
        page = client.get(reverse("rectification:dashboard"), {"round": round_.pk}).content.decode()
        links = _number_links(page)
        # The headline cards at least: measures, problems, red, yellow, grey.
        assert {label for _href, _n, label in links} >= {"反馈问题", "整改措施", "红灯", "黄灯（临期）", "灰灯（停滞）"}
        disagreements = [
            (label or href, number, total)
            for href, number, label in links
            if number != (total := _list_total(client, href))
        ]
        assert disagreements == [], f"{district}: number shown, rows listed"
        # The claim card shows a rate; the number under it is the list's.
        unclaimed = re.search(r'href="(/followup/unclaimed/\?[^"]*)".*?未认领 (\d+)', page, re.S)
        assert int(unclaimed.group(2)) == _list_total(client, html.unescape(unclaimed.group(1))), district

    def test_the_headline_figures_equal_an_independent_count_of_the_raw_rows(self, district, client):
        client.force_login(_office(district))
        round_ = _current_round()
        today = timezone.localdate()
        page = client.get(reverse("rectification:dashboard"), {"round": round_.pk}).content.decode()
        shown = {label: number for _href, number, label in _number_links(page) if label}
        measures = Measure.objects.filter(problem__round=round_)
        lights, overdue = _independent_lights(round_, today)
        assert shown["整改措施"] == measures.count()
        assert shown["反馈问题"] == round_.problems.count()
        assert (shown["红灯"], shown["黄灯（临期）"], shown["灰灯（停滞）"]) == (
            lights["red"],
            lights["yellow"],
            lights["grey"],
        ), district
        assert f"逾期 {overdue}<" in page, district
        closed = measures.filter(closeout_state="closed").count()
        assert f"已销号 {closed}（" in page
        # Unclaimed: measures waiting to be claimed or objected to, and problems with no measure yet.
        unclaimed = measures.exclude(claim_state="claimed").count() + sum(
            1 for problem in round_.problems.all() if not problem.measures.exists()
        )
        assert f"未认领 {unclaimed}（" in page, district

    def test_the_ledger_export_holds_the_rows_the_dashboard_counts(self, district, client):
        client.force_login(_office(district))
        round_ = _current_round()
        page = client.get(reverse("rectification:dashboard"), {"round": round_.pk}).content.decode()
        shown = {label: number for _href, number, label in _number_links(page) if label}
        response = client.get(reverse("rectification:excel:ledger", args=[round_.pk]))
        assert response.status_code == 200
        content = response.content if hasattr(response, "content") else b"".join(response.streaming_content)
        book = load_workbook(io.BytesIO(content), read_only=True)

        def codes(sheet_name, header):
            rows = list(book[sheet_name].iter_rows(min_row=2, values_only=True))
            index = list(rows[0]).index(header)
            return {row[index] for row in rows[1:] if row[index]}

        assert len(codes("问题清单", "问题编号")) == shown["反馈问题"], district
        assert len(codes("任务清单", "措施编号")) == shown["整改措施"], district


@pytest.mark.django_db
class TestOtherPagesAgree:
    def test_the_worklists_light_counts_equal_an_independent_count(self, district, client):
        from accounts import access
        from accounts.models import Unit

        today = timezone.localdate()
        checked = 0
        for unit in Unit.objects.filter(pk__in=Measure.objects.values("owner_unit_id")).order_by("pk")[:6]:
            liaison = access.unit_liaisons(unit).first()
            if liaison is None:
                continue
            client.force_login(liaison)
            response = client.get(reverse("rectification:worklist"))
            assert response.status_code == 200
            shown = {light.code: n for light, n in response.context["light_counts"]}
            lights, _overdue = _independent_lights(
                None, today, Measure.objects.filter(owner_unit=unit).exclude(closeout_state="closed")
            )
            assert (shown["red"], shown["yellow"], shown["grey"]) == (
                lights["red"],
                lights["yellow"],
                lights["grey"],
            ), (district, unit.name)
            checked += 1
        assert checked

    def test_the_leaders_problem_counts_equal_the_raw_rows(self, district, client):
        from accounts import access

        leaders = [leader for leader in access.leader_accounts().order_by("pk") if leader.led_problems.exists()][:3]
        assert leaders, district
        for leader in leaders:
            client.force_login(leader)
            page = client.get(reverse("rectification:leader")).content.decode()
            for problem in leader.led_problems.filter(round=_current_round()):
                measures = problem.measures.all()
                closed = measures.filter(closeout_state="closed").count()
                assert f'<td data-label="已销号/总数">{closed}/{measures.count()}</td>' in page, (
                    district,
                    problem.code,
                )

    def test_the_claim_page_gives_the_dashboards_claim_rate_and_the_raw_rows(self, district, client):
        client.force_login(_office(district))
        round_ = _current_round()
        measures = Measure.objects.filter(problem__round=round_)
        undecomposed = sum(1 for problem in round_.problems.all() if not problem.measures.exists())
        claimed = measures.filter(claim_state="claimed").count()
        items = measures.count() + undecomposed
        rate = round(100 * claimed / items) if items else 0
        setup = client.get(reverse("rectification:round_setup", args=[round_.pk])).content.decode()
        assert f"认领率 {rate}%（{claimed}/{items}" in setup, district
        dashboard = client.get(reverse("rectification:dashboard"), {"round": round_.pk}).content.decode()
        assert f"<strong>{rate}%</strong>" in dashboard, district


@pytest.mark.django_db
def test_this_weeks_cycle_page_in_the_demo_says_what_the_raw_rows_say(client, settings, tmp_path):
    """The demo freezes this week's summary when it is loaded: its page against the raw rows.
    (The generated cities freeze their snapshots on dates of their own, so only the demo has one of today.)"""
    from rectification.models import MissedReport, WeeklySnapshot

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    demo_load()
    client.force_login(_office("demo"))
    round_ = _current_round()
    today = timezone.localdate()
    measures = Measure.objects.filter(problem__round=round_)
    snapshot = next(
        (s for s in WeeklySnapshot.objects.filter(cycle__round=round_) if s.figures.get("as_of") == today.isoformat()),
        None,
    )
    assert snapshot is not None, "the demo freezes this week's summary when it is loaded"
    page = client.get(reverse("rectification:cycle_detail", args=[snapshot.cycle_id])).content.decode()
    _lights, overdue = _independent_lights(round_, today)
    missed_units = MissedReport.objects.filter(cycle=snapshot.cycle).values("unit").distinct().count()
    stats = dict(re.findall(r"<span>([^<]+)</span><strong>(\d+)</strong>", page))
    assert int(stats["整改措施"]) == measures.count()
    assert int(stats["逾期"]) == overdue
    assert int(stats["未报单位"]) == missed_units
    assert f"已销号 {measures.filter(closeout_state='closed').count()}<" in page
