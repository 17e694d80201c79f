"""The benchmark command.

    DATABASE_URL=postgres://zhenggai@127.0.0.1:5432/zhenggai_bench DJANGO_VAR_DIR=/tmp/bench-var \\
        python -m bench.run build                 # the city, into an empty, migrated database
    python -m bench.run all --label city          # pages, jobs and the load test; or one of:
    python -m bench.run pages|jobs|load --label city
    python -m bench.run report                    # the tables of docs/PERFORMANCE.md, from the saved results

It measures whatever database DATABASE_URL names: the city, or the demo district loaded with
``manage.py load_demo``. Results are saved as JSON under $DJANGO_VAR_DIR/bench/ and printed as
Markdown. Only 127.0.0.1 is ever contacted. Runs with DEBUG off unless DJANGO_DEBUG says otherwise.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from itertools import chain
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from accounts.models import Unit, User
from accounts.roles import Role
from rectification.models import (
    Campaign,
    CloseOutState,
    DispatchSheet,
    Evidence,
    InspectionRound,
    Measure,
    MeasureGroupObjectPermission,
    MeasureUserObjectPermission,
    Milestone,
    Notification,
    Problem,
    ProblemGroupObjectPermission,
    ProblemUserObjectPermission,
    ProgressReport,
    Release,
    SignOffStep,
    Track,
    WeeklySnapshot,
)
from rectification.selectors import pending_closeout_count
from rectification.workdays import iso_week_of

from .measure import bare_measure, job_measure, page_measure, quiet_check, xlsx_grid

RESULTS = Path(settings.VAR_DIR) / "bench"
DATASET_TABLES = [
    ("units", Unit),
    ("users", User),
    ("rounds", InspectionRound),
    ("problems", Problem),
    ("measures", Measure),
    ("milestones", Milestone),
    ("weekly reports", ProgressReport),
    ("evidence records", Evidence),
    ("sign-off steps", SignOffStep),
    ("weekly snapshots", WeeklySnapshot),
    ("notifications", Notification),
    ("problem group grants", ProblemGroupObjectPermission),
    ("measure group grants", MeasureGroupObjectPermission),
    ("problem user grants", ProblemUserObjectPermission),
    ("measure user grants", MeasureUserObjectPermission),
]


# --- who and what is measured -------------------------------------------------------------------


class Actors:
    """The people and objects the benchmark uses, found the same way on any dataset."""

    def __init__(self):
        self.office = User.objects.filter(is_active=True, groups__name=Role.OFFICE.value).order_by("pk").first()
        self.round = InspectionRound.objects.order_by("-feedback_date", "-id").first()
        busiest = (
            Measure.objects.exclude(closeout_state=CloseOutState.CLOSED)
            .values("owner_unit")
            .annotate(n=Count("id"))
            .order_by("-n", "owner_unit")
            .first()
        )
        self.unit = Unit.objects.get(pk=busiest["owner_unit"])
        self.unit_open_measures = busiest["n"]
        self.liaison = self._staff(self.unit, Role.LIAISON)
        leaders = User.objects.filter(is_active=True, groups__name=Role.LEADER.value).order_by("pk")
        counts = [(pending_closeout_count(user=leader), -leader.pk, leader) for leader in leaders]
        self.leader_pending, _pk, self.leader = max(counts, key=lambda row: row[:2])
        self.problem = (
            Problem.objects.filter(round=self.round)
            .annotate(n=Count("measures"))
            .order_by("-n", "seq", "id")
            .select_related("lead_unit")
            .first()
        )
        self.problem_viewer = self._staff(self.problem.lead_unit, Role.LIAISON)

    @staticmethod
    def _staff(unit, role):
        return User.objects.filter(unit=unit, is_active=True, groups__name=role.value).order_by("pk").first()

    def describe(self):
        return {
            "office": self.office.username,
            "round": self.round.title,
            "busiest unit": f"{self.unit.name} ({self.unit_open_measures} open measures, liaison {self.liaison.username})",
            "busiest leader": f"{self.leader.username} ({self.leader_pending} close-outs waiting)",
            "problem detail": f"{self.problem.code} of the newest round ({self.problem.n} measures), "
            f"viewed by {self.problem_viewer.username} of its lead unit",
        }


def page_specs(actors):
    return [
        ("dashboard", "Office dashboard 整改办总览", actors.office, "/dashboard/"),
        ("worklist", "Unit worklist 工作台, busiest unit", actors.liaison, "/unit/"),
        ("problem_detail", "Problem detail 问题详情", actors.problem_viewer, f"/problems/{actors.problem.pk}/"),
        ("problem_list", "Problem list p.1, track 综合 (office)", actors.office, "/problems/?track=general"),
        (
            "problem_list_unit",
            "Problem list p.1, track 综合 (busiest unit)",
            actors.liaison,
            "/problems/?track=general",
        ),
        ("report_week", "Weekly report form 周报, busiest unit", actors.liaison, "/unit/report/"),
        ("closeout_pending", "Pending signature 待我审批, busiest leader", actors.leader, "/closeout/pending/"),
    ]


# --- the parts ---------------------------------------------------------------------------------


def pages_run(actors, *, requests):
    results = []
    for key, label, user, url in page_specs(actors):
        result = page_measure(key=key, label=label, user=user, url=url, requests=requests)
        print(
            f"  {label:<48} {result.p50_ms:>7.1f} ms p50 {result.p95_ms:>7.1f} ms p95 {result.queries:>3} queries",
            flush=True,
        )
        results.append(result)
    return results


def _cycle_fresh(inspection_round, iso_year, iso_week, *, remove):
    """This week's cycle of the round, with what the measured step wrote before removed
    (only inside the rolled-back transaction of the measurement)."""
    from rectification.services.cycle import cycle_for

    cycle = cycle_for(inspection_round, iso_year, iso_week)
    if remove is WeeklySnapshot:
        # The demo office has already released this week's package, which holds on to its snapshot.
        Release.objects.filter(snapshot__cycle=cycle).delete()
    remove.objects.filter(cycle=cycle).delete()
    return cycle


def _import_file(actors, today, problems_wanted=150, measures_wanted=600):
    """A ledger of 150 problems and 600 measures of the newest round, written by our own export."""
    from rectification.excel.exports import (
        ledger_measures,
        ledger_problems,
        ledger_workbook,
    )

    problems = list(ledger_problems(user=actors.office, inspection_round=actors.round))[:problems_wanted]
    chosen = {p.pk for p in problems}
    measures = [m for m in ledger_measures(user=actors.office, inspection_round=actors.round) if m.problem_id in chosen]
    per_problem = {}
    for measure in measures:
        per_problem.setdefault(measure.problem_id, []).append(measure)
    # Drop measures from the problems that have most, until the ledger holds the wanted number.
    while len(measures) > measures_wanted:
        fullest = max(per_problem.values(), key=len)
        if len(fullest) <= 1:
            break
        measures.remove(fullest.pop())
    content = ledger_workbook(problems=problems, measures=measures, inspection_round=actors.round, today=today).content
    path = Path(tempfile.mkdtemp(prefix="bench-import-")) / "ledger.xlsx"
    path.write_bytes(content)
    return path, len(problems), len(measures)


def _import_file_5k(actors, rows=5000, measures_each=5):
    """A 5,000-row ledger for an empty round: 1,000 problems of five measures each, in ten aspects,
    naming the dataset's own units and leaders, written in the layout of the import's template."""
    from rectification.access import leader_accounts
    from rectification.excel.samples import sample_workbook

    units = list(Unit.objects.filter(is_active=True).order_by("pk").values_list("name", flat=True))
    leaders = [u.full_name or u.username for u in leader_accounts().order_by("pk")]
    feedback, deadline = actors.round.feedback_date, actors.round.report_deadline
    problems, measures = [], []
    for index in range(rows // measures_each):
        aspect, number = divmod(index, 100)
        code = f"{aspect + 1}.{number + 1}"
        problems.append(
            {
                "问题编号": code,
                "方面": f"第{aspect + 1}个方面",
                "专项": "综合",
                "反馈问题": f"反馈问题{code}：公务用车管理不规范，存在公车私用问题",
                "反馈原文": f"反馈原文{code}：一些单位公务用车管理不规范，存在公车私用、私车公养问题。" * 3,
                "具体表现": [f"具体表现{code}-{n}" for n in range(1, 4)],
                "问题类型": "个性问题",
                "整改时限类别": "限期整改",
                "整改时限": deadline,
                "牵头领导": leaders[index % len(leaders)],
                "责任领导": "、".join(leaders[(index + k) % len(leaders)] for k in (1, 2)),
                "牵头单位": units[index % len(units)],
                "责任单位": "、".join(units[(index + k) % len(units)] for k in (1, 2)),
                "整改目标": "公务用车管理规范有序。",
                "验收标准": "1. 违规费用全部追回\n2. 出台管理办法",
                "专项整治": "",
                "上轮问题编号": "",
                "书记领办": "否",
            }
        )
        for m in range(1, measures_each + 1):
            measures.append(
                {
                    "问题编号": code,
                    "措施编号": f"{code}.{m}",
                    "整改措施": f"措施{code}.{m}：全面清理违规报销的私车费用，追回违规资金，建立长效机制",
                    "措施类别": "建章立制",
                    "责任单位": units[(index + m) % len(units)],
                    "经办人": "张三",
                    "联系电话": "0571-88000000",
                    "开始日期": feedback,
                    "完成时限": "12月底" if m % 2 else "立行立改并长期坚持",
                    "时间节点": f"{feedback + datetime.timedelta(days=20):%Y-%m-%d} 完成摸底排查",
                    "预期成果": "清理情况报告",
                }
            )
    path = Path(tempfile.mkdtemp(prefix="bench-import-5k-")) / "ledger-5000.xlsx"
    path.write_bytes(sample_workbook("基准台账", problems, measures))
    return path, len(problems), len(measures)


def _empty_round_like(newest, title):
    target = InspectionRound.objects.create(
        title=title,
        inspection_team=newest.inspection_team,
        feedback_date=newest.feedback_date,
        report_deadline=newest.report_deadline,
        previous_round=newest.previous_round,
    )
    for track in Track.objects.filter(round=newest):
        Track.objects.create(round=target, kind=track.kind, office_unit_id=track.office_unit_id)
    return target


def jobs_run(actors, *, repeat, only=None):
    from rectification.excel.exports import (
        ledger_export,
        ledger_measures,
        ledger_problems,
        ledger_workbook,
        weekly_export,
    )
    from rectification.excel.imports import ledger_plan
    from rectification.services.cycle import step_dispatch, step_summary
    from rectification.services.ledger_import import ledger_import

    office, newest = actors.office, actors.round
    today = timezone.localdate()
    iso_year, iso_week = iso_week_of(today)
    last_year, last_week = iso_week_of(today - datetime.timedelta(days=7))
    rounds = list(InspectionRound.objects.order_by("feedback_date", "id"))
    kept = {}
    results = []

    def measured(key, label, fn, **extra):
        if only and key not in only:
            return None
        result = job_measure(key=key, label=label, fn=fn, repeat=repeat, detail=extra)
        print(
            f"  {label:<48} {result.seconds:>7.2f} s {result.peak_mb:>7.1f} MB {result.queries:>6} queries", flush=True
        )
        results.append(result)
        return result

    def summary():
        step_summary(_cycle_fresh(newest, iso_year, iso_week, remove=WeeklySnapshot))

    def dispatch():
        return step_dispatch(_cycle_fresh(newest, iso_year, iso_week, remove=DispatchSheet))

    def ledger_all_rounds():
        # Each round's rows streamed one after the other, as ledger_export streams one round's.
        ledger = ledger_workbook(
            problems=chain.from_iterable(ledger_problems(user=office, inspection_round=r) for r in rounds),
            measures=chain.from_iterable(ledger_measures(user=office, inspection_round=r) for r in rounds),
            inspection_round=newest,
            today=today,
        )
        kept["ledger_all"] = ledger.content
        return {"problems": ledger.problems, "measures": ledger.measures, "kilobytes": len(ledger.content) // 1024}

    def ledger_round():
        export = ledger_export(user=office, inspection_round=newest, today=today)
        kept["ledger_round"] = export.content
        return {"kilobytes": len(export.content) // 1024}

    def weekly():
        export = weekly_export(
            user=office, inspection_round=newest, iso_year=last_year, iso_week=last_week, today=today
        )
        kept["weekly"] = export.content
        return {"kilobytes": len(export.content) // 1024}

    open_units = (
        Measure.objects.filter(problem__round=newest)
        .exclude(closeout_state=CloseOutState.CLOSED)
        .values("owner_unit")
        .distinct()
        .count()
    )
    measured(
        "summary",
        "Weekly summary step_summary, newest round",
        summary,
        measures=Measure.objects.filter(problem__round=newest).count(),
    )
    measured("dispatch", "Dispatch step_dispatch, every unit of the round", dispatch, units_with_open_work=open_units)
    for key, label, fn in (
        ("ledger_all", "Ledger export, all rounds in one workbook", ledger_all_rounds),
        ("ledger_round", "Ledger export ledger_export, newest round", ledger_round),
        ("weekly", "Weekly progress export weekly_export, newest round", weekly),
    ):
        result = measured(key, label, fn)
        if result is None:
            continue
        bare = bare_measure(xlsx_grid(kept[key]), repeat=repeat)
        result.detail["bare_openpyxl"] = bare
        result.detail["ratio"] = round(result.seconds / bare["seconds"], 2) if bare["seconds"] else None
        print(
            f"    bare openpyxl write-only: {bare['seconds']:.2f} s, {bare['peak_mb']} MB, {bare['cells']} cells; ratio {result.detail['ratio']}",
            flush=True,
        )

    path, n_problems, n_measures = _import_file(actors, today)

    def import_ledger():
        target = InspectionRound.objects.create(
            title="基准导入轮次",
            inspection_team=newest.inspection_team,
            feedback_date=newest.feedback_date,
            report_deadline=newest.report_deadline,
            previous_round=newest.previous_round,
        )
        for track in Track.objects.filter(round=newest):
            Track.objects.create(round=target, kind=track.kind, office_unit_id=track.office_unit_id)
        for campaign in Campaign.objects.filter(round=newest):
            Campaign.objects.create(round=target, name=campaign.name, lead_unit_id=campaign.lead_unit_id)
        started = time.perf_counter()
        plan = ledger_plan(path, inspection_round=target)
        planned = time.perf_counter() - started
        if plan.errors:
            raise RuntimeError("import plan has errors: " + "; ".join(str(e) for e in plan.errors[:5]))
        counts = ledger_import(actor=office, plan=plan)
        return {
            "plan_seconds": round(planned, 2),
            "apply_seconds": round(time.perf_counter() - started - planned, 2),
            **counts,
        }

    measured(
        "import",
        "Ledger import into an empty round (plan + apply)",
        import_ledger,
        file_problems=n_problems,
        file_measures=n_measures,
    )

    if not only or {"preview5k", "import5k"} & only:
        path_5k, problems_5k, measures_5k = _import_file_5k(actors)

    def preview_5k():
        plan = ledger_plan(path_5k, inspection_round=_empty_round_like(newest, "基准导入轮次5000"))
        if plan.errors:
            raise RuntimeError("import plan has errors: " + "; ".join(str(e) for e in plan.errors[:5]))
        return {"warnings": len(plan.warnings), **plan.summary()}

    def import_5k():
        target = _empty_round_like(newest, "基准导入轮次5000")
        started = time.perf_counter()
        plan = ledger_plan(path_5k, inspection_round=target)
        planned = time.perf_counter() - started
        if plan.errors:
            raise RuntimeError("import plan has errors: " + "; ".join(str(e) for e in plan.errors[:5]))
        counts = ledger_import(actor=office, plan=plan)
        return {
            "plan_seconds": round(planned, 2),
            "apply_seconds": round(time.perf_counter() - started - planned, 2),
            **counts,
        }

    for key, label, fn in (
        ("preview5k", "Ledger import preview ledger_plan, 5,000 measures", preview_5k),
        ("import5k", "Ledger import, 5,000 measures into an empty round (plan + apply)", import_5k),
    ):
        if not only or key in only:
            measured(key, label, fn, file_problems=problems_5k, file_measures=measures_5k)
    return results


def load_part(actors, *, requests, concurrency, label):
    """The worklist under load beside the trivial signed-in page, in one server and one run.

    The trivial page is run before and after the worklists; the worklist's throughput is given as
    a share of their mean, a ratio that holds on any machine (target at least 0.30)."""
    from .load import Server, load_run, page_cache_empty, session_cookies
    from .urls import WHOAMI

    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / f"{label}-gunicorn.log"
    busiest = session_cookies([actors.liaison])
    liaisons = list(
        User.objects.filter(is_active=True, groups__name=Role.LIAISON.value, unit__isnull=False).order_by("pk")[:100]
    )
    mixed = session_cookies(liaisons)
    many = f"{len(mixed)} units' liaisons"
    runs = [
        ("trivial", WHOAMI, many, mixed),
        ("worklist_busiest", "/unit/", "busiest unit", busiest),
        ("worklist", "/unit/", many, mixed),
        ("trivial_after", WHOAMI, many, mixed),
    ]
    results = []
    page_cache_empty()
    with Server(workers=2, log_path=log, settings_module="bench.settings") as server:
        for key, path, name, cookies in runs:
            result = load_run(
                label=name,
                port=server.port,
                path=path,
                cookies=cookies,
                workers=2,
                requests=requests,
                concurrency=concurrency,
            )
            result.key = key
            print(
                f"  {path} {name:<24} {result.rps:>7.1f} req/s p50 {result.p50_ms} ms p95 {result.p95_ms} ms "
                f"({result.requests} requests, {result.errors} errors)",
                flush=True,
            )
            results.append(result)
    trivial = [r.rps for r in results if r.key.startswith("trivial")]
    for result in results:
        if result.path == "/unit/" and trivial:
            result.ratio_to_trivial = round(result.rps / (sum(trivial) / len(trivial)), 2)
            print(f"  {result.path} {result.label}: {result.ratio_to_trivial} of the trivial page's throughput")
    return results


@contextlib.contextmanager
def quiet_beside(part):
    """The quiet-machine check before and after a part; yields the dict the two land in."""
    quiet = {"before": quiet_check()}
    print(f"  quiet-machine check before {part}: {_quiet_text(quiet['before'])}", flush=True)
    yield quiet
    quiet["after"] = quiet_check()
    print(f"  quiet-machine check after {part}: {_quiet_text(quiet['after'])}", flush=True)


def _quiet_text(check):
    return (
        f"{check['seconds']:.3f} s (worst {check['worst_seconds']:.3f} s), CPU share {check['cpu_share']}, "
        f"load average {check['load_average']}"
    )


# --- the record ----------------------------------------------------------------------------------


def machine():
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version" if connection.vendor == "postgresql" else "select sqlite_version()")
        db_version = cursor.fetchone()[0]
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return {
        "date": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "memory": memory,
        "database": f"{connection.vendor} {db_version}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def dataset_label(scale):
    """city for the city, city3 for three times its work."""
    return "city" if scale == 1 else f"city{scale}"


def dataset():
    return {name: model.objects.count() for name, model in DATASET_TABLES}


def save(label, part, payload):
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{label}-{part}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
    return path


def _load(label, part):
    path = RESULTS / f"{label}-{part}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _side_by_side(title, results, labels, headings, fields):
    """One Markdown table: a row per measured key, for each dataset label its columns ``fields``."""
    lines = ["| " + title + " | " + " | ".join(f"{label} {h}" for label in labels for h in headings) + " |"]
    lines.append("|---|" + "---|" * (len(headings) * len(labels)))
    keys = [row["key"] for row in (results[labels[0]] or {}).get("results", [])] if labels else []
    for key in keys:
        cells, label_text = [], ""
        for label in labels:
            row = next((r for r in (results[label] or {}).get("results", []) if r["key"] == key), None)
            if row is None:
                cells.append(" | ".join("–" for _ in fields))
                continue
            label_text = row["label"]
            cells.append(" | ".join(str(row[f]) for f in fields))
        lines.append(f"| {label_text} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


LOAD_ROWS = {
    "trivial": "trivial signed-in page, the liaisons in turn (first)",
    "worklist_busiest": "busiest unit",
    "worklist": "up to 100 units' liaisons in turn",
    "trivial_after": "trivial signed-in page, the liaisons in turn (again)",
}


def report(labels):
    """Markdown tables of the saved results, side by side for the given dataset labels."""
    lines = []
    pages = {label: _load(label, "pages") for label in labels}
    jobs = {label: _load(label, "jobs") for label in labels}
    loads = {label: _load(label, "load") for label in labels}
    present = [label for label in labels if pages[label] or jobs[label]]
    if present:
        lines.append("| | " + " | ".join(present) + " |")
        lines.append("|---|" + "---|" * len(present))
        for name, _model in DATASET_TABLES:
            lines.append(
                f"| {name} | "
                + " | ".join(f"{(pages[label] or jobs[label])['dataset'][name]:,}" for label in present)
                + " |"
            )
        lines.append("")
    lines += _side_by_side("page", pages, present, ("p50 ms", "p95 ms", "queries"), ("p50_ms", "p95_ms", "queries"))
    lines += _side_by_side("job", jobs, present, ("s", "peak MB", "queries"), ("seconds", "peak_mb", "queries"))
    for label in present:
        for row in (jobs[label] or {}).get("results", []):
            bare = row["detail"].get("bare_openpyxl")
            if bare:
                lines.append(
                    f"- {label}, {row['label']}: {row['seconds']} s vs bare openpyxl write-only {bare['seconds']} s "
                    f"({bare['cells']:,} cells) = ratio {row['detail']['ratio']}; peak {row['peak_mb']} MB vs {bare['peak_mb']} MB"
                )
            elif row["detail"]:
                lines.append(f"- {label}, {row['label']}: {json.dumps(row['detail'], ensure_ascii=False)}")
    present_loads = [label for label in labels if loads[label]]
    if present_loads:
        lines.append("")
        lines.append(
            f"Load test: gunicorn, {loads[present_loads[0]]['results'][0]['workers']} sync workers, loopback, "
            f"{loads[present_loads[0]]['results'][0]['concurrency']} client threads"
        )
        lines.append("")
        lines.append(
            "| page, sessions | "
            + " | ".join(f"{label} req/s | {label} p50 ms | {label} p95 ms | {label} errors" for label in present_loads)
            + " |"
        )
        lines.append("|---|" + "---|" * (4 * len(present_loads)))
        for index, row in enumerate(loads[present_loads[0]]["results"]):
            cells = []
            for label in present_loads:
                rows = loads[label]["results"]
                other = rows[index] if index < len(rows) else None
                if other is None:
                    cells.append("– | – | – | –")
                    continue
                ratio = other.get("ratio_to_trivial")
                rps = f"{other['rps']}" + (f" (**{ratio}** of trivial)" if ratio is not None else "")
                cells.append(f"{rps} | {other['p50_ms']} | {other['p95_ms']} | {other['errors']} / {other['requests']}")
            name = LOAD_ROWS.get(row.get("key", ""), row["label"])
            lines.append(f"| `{row['path']}` {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Quiet-machine check (the same fixed CPU workload before and after each part; best of 3):")
    lines.append("")
    lines.append(
        "| dataset, part | before s | before CPU share | before load average | after s | after CPU share | after load average |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    for label in labels:
        for part, saved in (("pages", pages[label]), ("jobs", jobs[label]), ("load", loads[label])):
            quiet = (saved or {}).get("quiet_check")
            if not quiet:
                continue
            before, after = quiet["before"], quiet.get("after") or {}
            lines.append(
                f"| {label}, {part} | {before['seconds']} | {before['cpu_share']} | {before['load_average']} | "
                f"{after.get('seconds', '–')} | {after.get('cpu_share', '–')} | {after.get('load_average', '–')} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=["build", "pages", "jobs", "load", "all", "report"])
    parser.add_argument("--label", default="city", help="name of the dataset in the saved results (city, demo)")
    parser.add_argument("--labels", default="demo,city,city3", help="report: the datasets to put side by side")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--scale", type=int, default=1, help="build: how many times the city's work (3: 27,000 measures); label city3"
    )
    parser.add_argument("--requests", type=int, default=60, help="pages: requests per page (at least 50)")
    parser.add_argument("--repeat", type=int, default=1, help="jobs: timed runs of each job (the best is kept)")
    parser.add_argument(
        "--jobs",
        default="",
        help="jobs: only these, comma-separated (summary,dispatch,ledger_all,ledger_round,weekly,import,preview5k,import5k)",
    )
    parser.add_argument("--load-requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)

    if args.part == "build":
        from .city import CITY, city_build

        started = time.perf_counter()
        counts = city_build(scale=CITY.times(args.scale), seed=args.seed)
        counts["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(counts, ensure_ascii=False, indent=1))
        save(dataset_label(args.scale), "build", counts)
        return 0
    if args.part == "report":
        print(report(args.labels.split(",")))
        return 0

    actors = Actors()
    header = {"machine": machine(), "dataset": dataset(), "actors": actors.describe()}
    print(json.dumps(header, ensure_ascii=False, indent=1), flush=True)
    if args.part in ("pages", "all"):
        with quiet_beside("pages") as quiet:
            results = pages_run(actors, requests=args.requests)
        save(
            args.label,
            "pages",
            {
                **header,
                "quiet_check": quiet,
                "results": [{k: v for k, v in asdict(r).items() if k != "samples"} for r in results],
            },
        )
    if args.part in ("jobs", "all"):
        with quiet_beside("jobs") as quiet:
            results = jobs_run(actors, repeat=args.repeat, only=set(filter(None, args.jobs.split(","))))
        save(args.label, "jobs", {**header, "quiet_check": quiet, "results": [asdict(r) for r in results]})
    if args.part in ("load", "all"):
        with quiet_beside("load") as quiet:
            results = load_part(actors, requests=args.load_requests, concurrency=args.concurrency, label=args.label)
        save(args.label, "load", {**header, "quiet_check": quiet, "results": [asdict(r) for r in results]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
