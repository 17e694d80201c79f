"""The import's blank template and filled example, generated (never stored as binary files).

Both have the import's two sheets, 问题清单 and 任务清单, with exactly the columns of the ledger
export that the import reads back (``Column.field``), so a template filled in, the example, and an
exported ledger are all read the same way. The example names units and leaders that exist in the
system and dates inside the round, so that it imports cleanly as it is.
"""

import datetime
from operator import itemgetter

from accounts.models import Unit
from rectification.access import leader_accounts
from rectification.models import Problem

from . import columns as cols
from .workbook import Column, StreamSheet, stream_workbook, workbook_bytes

SHEETS = ("问题清单", "任务清单")


def _by_header(columns):
    """The ledger's importable columns, reading each row's value from a dict by header."""
    return [
        Column(c.header, c.width, itemgetter(c.header), kind=c.kind, field=c.field, spread=c.spread)
        for c in columns
        if c.field is not None
    ]


PROBLEM_COLUMNS = _by_header(cols.LEDGER_PROBLEM_COLUMNS)
MEASURE_COLUMNS = _by_header(cols.LEDGER_MEASURE_COLUMNS)


def sample_workbook(title, problems, measures):
    """A workbook of the import's two sheets from rows given as dicts by header (具体表现: a list)."""
    workbook = stream_workbook()
    problem_sheet = StreamSheet(
        workbook, name=SHEETS[0], columns=PROBLEM_COLUMNS, title=f"{title}·问题清单", freeze="B3"
    )
    for problem in problems:
        problem_sheet.append_block(problem)
    measure_sheet = StreamSheet(
        workbook, name=SHEETS[1], columns=MEASURE_COLUMNS, title=f"{title}·任务清单", freeze="C3"
    )
    for measure in measures:
        measure_sheet.append(measure)
    return workbook_bytes(workbook)


def import_template():
    """The blank template: the title and header rows of both sheets."""
    return sample_workbook("整改台账导入模板（第2行为表头，从第3行起每行填写一项）", [], [])


def _names(inspection_round):
    """Two units and two leaders of the system for the example (repeated if there are fewer)."""
    units = [u.name for u in Unit.objects.filter(is_active=True).order_by("sort_order", "pk")[:2]] or ["（单位全称）"]
    leaders = [u.full_name or u.username for u in leader_accounts().order_by("pk")[:2]] or ["（区领导姓名）"]
    return units * (2 // len(units)), leaders * (2 // len(leaders))


def _free_aspect_number(inspection_round):
    """The aspect number after the round's problems (1 for an empty round): the example's codes are
    new ones, so trying it on a round with a ledger adds two problems and overwrites none."""
    heads = [
        code.partition(".")[0] for code in Problem.objects.filter(round=inspection_round).values_list("code", flat=True)
    ]
    return max((int(head) for head in heads if head.isdecimal()), default=0) + 1


def import_example(*, inspection_round):
    """A filled example for ``inspection_round``: two problems and their measures, in its dates."""
    units, leaders = _names(inspection_round)
    n = _free_aspect_number(inspection_round)
    feedback, deadline = inspection_round.feedback_date, inspection_round.report_deadline

    def day(offset):
        return min(deadline, feedback + datetime.timedelta(days=offset))

    problem = {
        "问题编号": f"{n}.1",
        "方面": "落实全面从严治党主体责任方面",
        "专项": "综合",
        "反馈问题": "公务用车管理不规范",
        "反馈原文": "一些单位公务用车管理不规范，存在公车私用、私车公养问题。",
        "具体表现": ["某局以维修名义报销私车费用", "超编制配备公务用车"],
        "问题类型": "个性问题",
        "整改时限类别": "限期整改",
        "整改时限": deadline,
        "牵头领导": leaders[0],
        "责任领导": leaders[1],
        "牵头单位": units[0],
        "责任单位": units[1],
        "整改目标": "公务用车管理规范有序，违规费用全部追回。",
        "验收标准": "1. 违规费用全部追回\n2. 出台公务用车管理办法",
        "专项整治": "",
        "上轮问题编号": "",
        "书记领办": "否",
    }
    second = {
        **problem,
        "问题编号": f"{n}.2",
        "反馈问题": "文山会海问题反弹",
        "反馈原文": "部分单位发文开会过多，基层负担较重。",
        "具体表现": ["发文数量超年度计划"],
        "问题类型": "共性问题",
        "整改时限类别": "长期坚持",
        "整改时限": "长期坚持",
        "牵头单位": units[1],
        "责任单位": units[0],
        "整改目标": "发文开会数量明显下降。",
        "验收标准": "1. 发文数量不超过年度计划",
    }
    measure = {
        "问题编号": f"{n}.1",
        "措施编号": f"{n}.1.1",
        "整改措施": "全面清理违规报销的私车费用，追回违规资金",
        "措施类别": "追缴资金",
        "责任单位": units[1],
        "经办人": "张三",
        "联系电话": "0571-88000000",
        "开始日期": feedback,
        "完成时限": day(30),
        "时间节点": f"{day(10):%Y-%m-%d} 完成摸底排查\n{day(25):%Y-%m-%d} 追回违规资金",
        "预期成果": "清理情况报告、退款凭证",
    }
    measures = [
        measure,
        {
            **measure,
            "措施编号": f"{n}.1.2",
            "整改措施": "制定公务用车管理办法",
            "措施类别": "建章立制",
            "完成时限": day(60),
            "时间节点": "",
            "预期成果": "公务用车管理办法",
        },
        {
            **measure,
            "问题编号": f"{n}.2",
            "措施编号": f"{n}.2.1",
            "整改措施": "立即清理压减年度发文计划，此后长期坚持",
            "措施类别": "立行立改",
            "责任单位": units[0],
            "完成时限": "立行立改并长期坚持",
            "时间节点": "",
            "预期成果": "压减后的发文计划",
        },
    ]
    return sample_workbook(f"{inspection_round.title}　整改台账导入示例", [problem, second], measures)
