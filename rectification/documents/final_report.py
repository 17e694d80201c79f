"""The final 整改情况报告 to the provincial team, drafted in 公文 format.

Its statistics are the statistics export's own rows (``excel.exports.statistics_rows``), written
as tables section by section, and every figure the text quotes is looked up in those rows: the
report, the export and the provincial package cannot disagree. Records the statistics count
(petitions and clues, meetings and supervision rounds, ...) reach the report through those rows
as soon as the export counts them. The problems, measures and rules it lists come through the
same access chokepoints as the ledger export.
"""

from collections import defaultdict

from django.db.models import Prefetch

from ..access import measures_visible_to, problems_visible_to
from ..excel.columns import StatRow
from ..excel.exports import Export, counted_records, statistics_rows
from ..models import AccountabilityRecord, CloseOutRequest, CloseOutState, RuleRecord
from .gongwen import Gongwen, date_text

NEXT_STEPS_PLACEHOLDER = (
    "（请整改办根据领导小组部署填写下一步打算：对尚未完成的问题盯住不放、持续推进，"
    "对已完成的问题适时开展“回头看”，巩固拓展整改成果。）"
)
OVERALL_PLACEHOLDER = "（请整改办补充区委履行整改主体责任、研究部署和督促推进的主要做法。）"


class Figures:
    """The statistics rows, looked up by (section, item) for the figures the text quotes."""

    def __init__(self, rows):
        self.rows = rows
        self._values: dict[tuple[str, str], StatRow] = {}
        for row in rows:
            # "其中已销号" appears under several sections: the first row of each pair is kept.
            self._values.setdefault((row.section, row.item), row)

    def __call__(self, section, item):
        row = self._values.get((section, item))
        return "" if row is None else f"{row.value}"

    def sections(self):
        grouped = defaultdict(list)
        order = []
        for row in self.rows:
            if row.value is None:
                continue
            if row.section not in grouped:
                order.append(row.section)
            grouped[row.section].append(row)
        return [(section, grouped[section]) for section in order]


def _clause(text):
    """A unit's sentence as part of ours: trimmed, without its own closing punctuation."""
    return (text or "").strip().rstrip("。；;，,.．").strip()


def final_report_filename(inspection_round, day):
    return f"{inspection_round.title}-整改情况报告-{day:%Y%m%d}-草稿.docx"


def _problems(user, inspection_round):
    measures = measures_visible_to(user).select_related("owner_unit").order_by("seq", "id")
    return (
        problems_visible_to(user)
        .filter(round=inspection_round)
        .select_related("aspect", "lead_unit", "lead_official")
        .prefetch_related(
            Prefetch("measures", queryset=measures, to_attr="report_measures"),
            Prefetch("accountability", queryset=AccountabilityRecord.objects.order_by("decided_on", "id")),
            Prefetch("rules", queryset=RuleRecord.objects.order_by("issued_on", "id")),
            Prefetch(
                "closeouts",
                queryset=CloseOutRequest.objects.filter(measure__isnull=True).order_by("-created_at"),
                to_attr="problem_closeouts",
            ),
        )
        .order_by("aspect__seq", "seq", "id")
    )


def _three_tests(problem):
    """事要解决、人要处理、长效机制要建立, as the close-out recorded them; None without a close-out."""
    request = problem.problem_closeouts[0] if problem.problem_closeouts else None
    if request is None and problem.closeout_state != CloseOutState.CLOSED:
        return None
    solved = "已销号，事项已解决" if problem.closeout_state == CloseOutState.CLOSED else "正在审核"
    people = list(problem.accountability.all())
    if people:
        people_text = f"追责问责{len(people)}人次（" + "、".join(r.get_kind_display() for r in people) + "）"
    elif request is not None and request.no_accountability_reason.strip():
        people_text = f"不涉及追责问责：{request.no_accountability_reason.strip()}"
    else:
        people_text = "尚无追责问责记录"
    rules = list(problem.rules.all())
    if rules:
        rules_text = "建立制度" + "、".join(f"《{r.title}》（{r.doc_number}）" for r in rules)
    elif request is not None and request.no_rules_reason.strip():
        rules_text = f"不涉及建章立制：{request.no_rules_reason.strip()}"
    else:
        rules_text = "尚无建章立制记录"
    return f"事要解决：{solved}；人要处理：{people_text}；长效机制要建立：{rules_text}。"


def final_report(*, user, inspection_round, profile, doc_number, day):
    """The draft report as an editable .docx (an ``Export``) for ``user`` (the office)."""
    figures = Figures(statistics_rows(user=user, inspection_round=inspection_round))
    problems = list(_problems(user, inspection_round))
    team = inspection_round.inspection_team

    doc = Gongwen(profile)
    doc.masthead(f"{profile.issuer}文件")
    doc.blank()
    doc.doc_number(doc_number)
    doc.red_rule()
    doc.blank()
    doc.title(f"关于{team}反馈意见整改落实情况的报告")
    doc.blank()
    doc.addressee(team)
    feedback = date_text(inspection_round.feedback_date)
    aspects = len({problem.aspect_id for problem in problems})
    doc.paragraph(
        f"{feedback}，{team}向我区反馈了巡视意见，指出{aspects}个方面"
        f"{figures('问题整改情况', '问题总数')}个问题。我区坚持把巡视整改作为重大政治任务，"
        "对反馈问题百分之百全面认领、百分之百落实整改。现将整改落实情况报告如下。"
    )

    doc.heading(1, "整改工作总体情况")
    doc.paragraph(
        f"截至{date_text(day)}，反馈的{figures('问题整改情况', '问题总数')}个问题中，"
        f"已整改销号{figures('问题整改情况', '销号状态：已销号')}个，完成率{figures('问题整改情况', '完成率（已销号数/总数）')}%；"
        f"制定的{figures('措施整改情况', '措施总数')}项整改措施中，"
        f"已销号{figures('措施整改情况', '销号状态：已销号')}项，完成率{figures('措施整改情况', '完成率（已销号数/总数）')}%。"
        f"立行立改问题{figures('立行立改', '立行立改问题数')}个、措施{figures('立行立改', '立行立改措施数')}项；"
        f"上轮巡视未整改到位问题{figures('上轮巡视未整改到位问题', '本轮反馈的上轮未整改到位问题数')}个。"
        f"开展专项整治{figures('专项整治', '开展专项整治')}项，"
        f"新建制度{figures('建章立制', '新建制度')}项、修订{figures('建章立制', '修订制度')}项、"
        f"废止{figures('建章立制', '废止制度')}项，"
        f"挽回经济损失和追缴、清退资金合计{figures('挽回经济损失、追缴和清退资金', '合计')}万元。"
    )
    doc.paragraph(OVERALL_PLACEHOLDER)

    doc.heading(1, "反馈问题整改落实情况")
    current_aspect = None
    for problem in problems:
        if problem.aspect_id != current_aspect:
            current_aspect = problem.aspect_id
            doc.heading(2, f"关于“{problem.aspect.title}”方面的问题")
        doc.heading(3, problem.title)
        doc.paragraph(
            f"牵头领导：{problem.lead_official}；牵头单位：{problem.lead_unit.name}。"
            f"整改状态：{problem.get_progress_state_display()}，{problem.get_closeout_state_display()}。"
        )
        for measure in problem.report_measures:
            doc.paragraph(
                f"措施{measure.code}：{_clause(measure.text)}（{measure.owner_unit.name}，"
                f"{measure.get_progress_state_display()}，{measure.get_closeout_state_display()}）。"
                f"整改成效：{_clause(measure.latest_progress) or '暂无进展说明'}。"
            )
        tests = _three_tests(problem)
        if tests:
            doc.paragraph(tests)

    doc.heading(1, "建立健全长效机制情况")
    rules = list(
        counted_records(RuleRecord, user=user, inspection_round=inspection_round, link="problems")
        .select_related("issuing_unit")
        .order_by("issued_on", "id")
    )
    doc.paragraph(
        f"坚持标本兼治，新建制度{figures('建章立制', '新建制度')}项、修订{figures('建章立制', '修订制度')}项、"
        f"废止{figures('建章立制', '废止制度')}项。"
    )
    if rules:
        doc.table(
            ["制度名称", "文号", "类型", "制发单位", "印发日期"],
            [
                (rule.title, rule.doc_number, rule.get_change_display(), rule.issuing_unit.name, rule.issued_on)
                for rule in rules
            ],
            shares=[5, 4, 2, 3, 4],
        )

    doc.heading(1, "存在的问题和下一步打算")
    open_problems = [problem for problem in problems if problem.closeout_state != CloseOutState.CLOSED]
    if open_problems:
        listed = "；".join(f"{problem.title}（{problem.get_progress_state_display()}）" for problem in open_problems)
        doc.paragraph(f"目前尚有{len(open_problems)}个问题未销号：{listed}。")
    else:
        doc.paragraph("反馈问题已全部整改销号。")
    doc.paragraph(NEXT_STEPS_PLACEHOLDER)

    doc.heading(1, "整改情况统计表")
    for section, rows in figures.sections():
        doc.heading(2, section)
        doc.table(["指标", "数值", "单位"], [(row.item, row.value, row.unit) for row in rows], shares=[6, 2, 1])

    doc.signature(profile.issuer, day)
    return Export(
        doc.content(),
        final_report_filename(inspection_round, day),
        "document.final_report_draft",
        {"doc_number": doc_number, "problems": len(problems)},
    )
