"""The weekly 简报, drafted from the week's frozen snapshot.

Every number in it is read from ``WeeklySnapshot.figures`` as the summary froze it (the figures
the cycle page and the weekly package show), so the draft of a past week never changes. A
snapshot frozen before a figure was kept says so instead of leaving the office to guess.
"""

import datetime

from django.db.models import Q
from django.utils import timezone

from ..excel.exports import Export
from ..models import CloseOutState, ProgressState, WeeklySnapshot
from ..workdays import week_label, week_monday
from .gongwen import Gongwen, date_text

NOT_KEPT = "（本周快照生成时尚未记录此项。）"
NEXT_WEEK_PLACEHOLDER = "（请整改办根据领导小组部署填写下周工作重点。）"


def _state_text(counts, states, unit):
    parts = [f"{state.label}{counts[state.value]}{unit}" for state in states if counts.get(state.value)]
    return "、".join(parts) if parts else "无"


def briefing_issue_number(snapshot):
    """期号: the week's place among the round's snapshots (第1期 is the first week summarised)."""
    cycle = snapshot.cycle
    earlier = Q(cycle__iso_year__lt=cycle.iso_year) | Q(
        cycle__iso_year=cycle.iso_year, cycle__iso_week__lte=cycle.iso_week
    )
    return WeeklySnapshot.objects.filter(earlier, cycle__round_id=cycle.round_id).count()


def briefing_filename(snapshot):
    cycle = snapshot.cycle
    return f"{cycle.round.title}-整改工作简报-{week_label(cycle.iso_year, cycle.iso_week)}-草稿.docx"


def weekly_briefing(*, snapshot, profile):
    """The draft 简报 of ``snapshot``'s week as an editable .docx (an ``Export``)."""
    cycle = snapshot.cycle
    inspection_round = cycle.round
    figures = snapshot.figures
    week = week_label(cycle.iso_year, cycle.iso_week)
    monday = week_monday(cycle.iso_year, cycle.iso_week)
    sunday = monday + datetime.timedelta(days=6)
    frozen_on = timezone.localtime(snapshot.created_at).date() if snapshot.created_at else sunday
    issue = briefing_issue_number(snapshot)

    doc = Gongwen(profile)
    doc.masthead("巡视整改工作简报", size_pt=profile.title_size_pt * 3 / 2)
    doc.doc_number(f"第{issue}期")
    doc.red_rule(left=profile.issuer, right=date_text(frozen_on))
    doc.blank()
    doc.title(f"{inspection_round.title}整改工作周小结")
    doc.doc_number(f"（{week}，{monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日）")

    doc.heading(1, "整改倒计时")
    countdown = figures.get("countdown") or {}
    doc.paragraph(f"截至{date_text(frozen_on)}，{countdown['text']}。" if countdown.get("text") else NOT_KEPT)

    doc.heading(1, "总体进展")
    problems = figures.get("problems", {})
    measures = figures.get("measures", {})
    doc.paragraph(
        f"反馈问题{problems.get('total', 0)}个，其中已销号{problems.get('by_closeout', {}).get(CloseOutState.CLOSED.value, 0)}个；"
        f"整改措施{measures.get('total', 0)}项，其中已销号{measures.get('closed', 0)}项，本周销号{figures.get('closed_this_week', 0)}项。"
        f"措施进展状态：{_state_text(measures.get('by_progress', {}), ProgressState, '项')}。"
    )
    doc.heading(2, "分专项进展")
    if "by_track" in figures:
        doc.table(
            ["专项", "措施数", "已销号"],
            [(row["track"], row["total"], row["closed"]) for row in figures["by_track"]],
        )
    else:
        doc.paragraph(NOT_KEPT)
    doc.heading(2, "分单位进展")
    ranking = figures.get("unit_ranking", [])
    if ranking:
        doc.table(
            ["单位", "未销号", "红灯", "黄灯", "逾期", "未报"],
            [
                (row["unit"], row["open"], row["red"], row["yellow"], row["overdue"], row.get("missed", 0))
                for row in ranking
            ],
            shares=[4, 1, 1, 1, 1, 1],
        )
    else:
        doc.paragraph("本周各单位均无未销号措施。")
    doc.heading(2, "分牵头领导进展")
    leaders = figures.get("by_leader", [])
    if leaders:
        doc.table(
            ["牵头领导", "未销号", "红灯", "黄灯"],
            [(row["leader"], row["open"], row["red"], row["yellow"]) for row in leaders],
        )
    else:
        doc.paragraph("本周无未销号措施。")

    doc.heading(1, "本周进展")
    if "closed_this_week_items" in figures:
        items = figures["closed_this_week_items"]
        if items:
            listed = "；".join(f"{item['code']}（{item['unit']}）" for item in items)
            doc.paragraph(f"本周经整改办审核销号{figures.get('closed_this_week', 0)}项：{listed}。")
        else:
            doc.paragraph("本周无销号事项。")
    else:
        doc.paragraph(f"本周经整改办审核销号{figures.get('closed_this_week', 0)}项。")

    doc.heading(1, "红灯和逾期事项")
    red = figures.get("red", [])
    overdue = figures.get("overdue", [])
    stalled = figures.get("stalled", [])
    doc.paragraph(f"红灯措施{len(red)}项，逾期措施{len(overdue)}项，超过7天未更新的停滞措施{len(stalled)}项。")
    if red:
        doc.table(["措施编号", "责任单位", "牵头领导"], [(item["code"], item["unit"], item["leader"]) for item in red])

    doc.heading(1, "点名通报")
    missed = figures.get("missed_units", {})
    doc.heading(2, "未按时报送")
    doc.paragraph(
        "截止时仍未报送的单位："
        + ("、".join(f"{unit}（{n}项）" for unit, n in missed.items()) if missed else "无")
        + "。"
    )
    if "late_units" in figures:
        late = figures["late_units"]
        doc.paragraph(
            "逾期补报的单位：" + ("、".join(f"{unit}（{n}项）" for unit, n in late.items()) if late else "无") + "。"
        )
    doc.heading(2, "报告被退回")
    if "returned_units" in figures:
        returned = figures["returned_units"]
        doc.paragraph(
            "周报被退回的单位："
            + ("、".join(f"{unit}（{n}项）" for unit, n in returned.items()) if returned else "无")
            + "。"
        )
    else:
        doc.paragraph(NOT_KEPT)

    doc.heading(1, "需协调解决的事项")
    coordination = figures.get("coordination", [])
    if coordination:
        doc.table(
            ["措施编号", "牵头领导", "事项"],
            [(item["code"], item["leader"], item["text"]) for item in coordination],
            shares=[2, 2, 6],
        )
    else:
        doc.paragraph("本周无待协调事项。")

    doc.heading(1, "下周工作重点")
    doc.paragraph(NEXT_WEEK_PLACEHOLDER)

    return Export(
        doc.content(),
        briefing_filename(snapshot),
        "document.briefing_draft",
        {"week": f"{cycle.iso_year}-W{cycle.iso_week:02d}", "issue": issue},
    )
