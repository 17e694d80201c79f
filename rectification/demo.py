"""Builds the demo district: units, people, one inspection round with a few weeks of history.

Everything is written through the same services the pages use, so the demo also exercises
the permission grants. Only the "history" (percent reached, milestones done, items already
closed) is set directly, because it stands for weeks of work that happened before today.
"""

import datetime
import random
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import unit_create, user_create

from . import access, demo_data, services
from .figures import round_week_figures
from .models import (
    CloseOutRequest,
    CloseOutState,
    DeadlineCategory,
    Evidence,
    InspectionRound,
    Measure,
    Milestone,
    Problem,
    ProgressReport,
    ProgressState,
    Release,
    StepState,
    Track,
    WeeklySnapshot,
)
from .workdays import iso_week_of, milestones_backwards, previous_workday, report_cutoff, week_monday

# What a unit writes at each stage of the work: a week's text always goes with that week's percent.
PROGRESS_TEXTS = (
    (
        30,
        (
            "已制定整改工作方案并召开专题部署会，明确责任分工和时间节点。",
            "已成立整改工作专班，正在开展全面摸排。",
            "已完成问题梳理，建立整改台账和任务清单。",
            "已召开专题会议研究整改措施，正在细化分解任务。",
        ),
    ),
    (
        60,
        (
            "已完成前期摸排，建立问题台账，正在督促相关单位逐项落实。",
            "已起草相关制度文件，正在征求意见，预计按期出台。",
            "整改任务已完成近半，正在集中攻坚难点问题。",
            "已完成第一批整改任务，正在推进第二批。",
        ),
    ),
    (
        99,
        (
            "已完成阶段性任务，正在组织“回头看”，巩固整改成果。",
            "主要整改任务已基本完成，正在收集整理佐证材料。",
            "相关制度已印发实施，正在跟踪落实效果。",
            "剩余个别事项正在收尾，预计按期完成。",
        ),
    ),
)
FINISHED_TEXT = "各项整改任务已全部完成，佐证材料已收集整理，已按程序申请销号。"


def progress_text(percent, rng):
    """A week's progress text that fits its percent (never "全部完成" at 70%)."""
    if percent >= 100:
        return FINISHED_TEXT
    for upper, texts in PROGRESS_TEXTS:
        if percent <= upper:
            return rng.choice(texts)
    return PROGRESS_TEXTS[-1][1][0]


DEMO_ROUND_TITLE = "省委第三巡视组对示范区巡视反馈问题整改"
DEMO_PREVIOUS_ROUND_TITLE = "省委第五巡视组对示范区巡视反馈问题整改（上轮）"
DEMO_PASSWORD = "Zhenggai@2026"
OFFICE_UNIT = "区委巡视整改工作领导小组办公室"
TRACK_OFFICE_UNITS = {
    Track.Kind.GENERAL: OFFICE_UNIT,
    Track.Kind.INSPECTION: "区委巡察工作领导小组办公室",
    Track.Kind.CADRE: "区委组织部",
    Track.Kind.IDEOLOGY: "区委宣传部",
}
# Two units whose staff appear in the printed logins; every other unit gets numbered accounts.
FEATURED_UNITS = {"区财政局": "czj", "城关街道": "cgjd"}
MILESTONE_TITLES = ["制定整改工作方案", "取得阶段性成果", "收集整理佐证材料", "申请销号"]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    description: str


def demo_is_loaded():
    return InspectionRound.objects.filter(title=DEMO_ROUND_TITLE).exists()


def demo_logins():
    """The accounts a newcomer should try first, with what each one shows."""
    logins = [
        DemoLogin("zgb", "整改办（看全部、维护台账）"),
        DemoLogin("ld01", "区委书记（牵头领导，书记领办事项）"),
        DemoLogin("ld07", "常务副区长（牵头领导）"),
        DemoLogin("czj_lly", "区财政局 联络员"),
        DemoLogin("czj_fzr", "区财政局 单位负责人"),
        DemoLogin("cgjd_lly", "城关街道 联络员"),
        DemoLogin("cgjd_fzr", "城关街道 单位负责人"),
        DemoLogin("zzb_zx", "区委组织部（选人用人专项办）"),
        DemoLogin("jw_jd", "区纪委监委（监督，只读）"),
        DemoLogin("sxsz", "省巡视组（只读）"),
        DemoLogin("xtgly", "系统管理员（用户和单位，不看整改事项）"),
        DemoLogin("aqgly", "安全管理员（角色、锁定解锁，不看整改事项）"),
        DemoLogin("sjgly", "审计管理员（审计日志，不看整改事项）"),
    ]
    existing = set(
        User.objects.filter(username__in=[entry.username for entry in logins]).values_list("username", flat=True)
    )
    return [login for login in logins if login.username in existing]


@transaction.atomic
def demo_load(*, today=None, seed=20261126):
    """Build the demo district once. Returns False when it is already there (nothing is changed)."""
    if demo_is_loaded():
        return False
    today = today or timezone.localdate()
    rng = random.Random(seed)
    builder = _DemoBuilder(today=today, rng=rng, seed=seed)
    builder.build()
    # Run this week's due steps of the weekly cycle at once, so dispatch sheets are there to see.
    services.cycle_tick()
    # The office has checked and released the newest weekly package, so the provincial team's page
    # shows what it would see in use.
    package = (
        WeeklySnapshot.objects.exclude(package_name="")
        .select_related("cycle__round")
        .order_by("-cycle__iso_year", "-cycle__iso_week")
        .first()
    )
    if package is not None:
        services.release_create(
            actor=builder.office,
            inspection_round=package.cycle.round,
            kind=Release.Kind.WEEKLY_PACKAGE,
            snapshot=package,
            note="已核对",
        )
    return True


class _DemoBuilder:
    def __init__(self, *, today, rng, seed=0):
        self.today = today
        self.rng = rng
        self.units = {}
        self.leaders = []
        self.office = None
        self.closeout_targets = {}
        # Texts of past weeks come from a stream of their own: drawing them does not shift the rest.
        self.text_rng = random.Random(f"{seed}:texts")
        # Hashing is deliberately slow; the ~100 demo accounts share one password, so hash it once.
        self.password_hash = make_password(DEMO_PASSWORD)

    def build(self):
        self._units()
        self._people()
        previous = self._previous_round()
        self._current_round(previous)

    def _units(self):
        for order, (name, short, level, kind, parent) in enumerate(demo_data.UNITS, start=1):
            self.units[name] = unit_create(
                actor=None,
                name=name,
                short_name=short,
                level=level,
                kind=kind,
                parent=self.units[parent] if parent else None,
                sort_order=order,
            )

    def _user(self, username, full_name, unit=None, title="", roles=()):
        phone = f"138{self.rng.randrange(10**7, 10**8)}"
        return user_create(
            actor=self.office,
            username=username,
            full_name=full_name,
            password_hash=self.password_hash,
            unit=unit,
            title=title,
            phone=phone,
            roles=roles,
        )

    def _people(self):
        office_unit = self.units[OFFICE_UNIT]
        self.office = self._user("zgb", "周立新", office_unit, "区整改办副主任", [Role.OFFICE])
        self.office.is_staff = True
        self.office.save(update_fields=["is_staff"])
        for index, (name, title) in enumerate(demo_data.LEADERS, start=1):
            self.leaders.append(self._user(f"ld{index:02d}", name, None, title, [Role.LEADER]))
        surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
        given = "明华建国志强秀英丽娟海燕晓东文静国庆红梅玉兰小军春生德胜桂芳永康佳怡子涵宇轩雨欣"
        for index, (name, unit) in enumerate(self.units.items(), start=1):
            if name == OFFICE_UNIT:
                continue
            prefix = FEATURED_UNITS.get(name, f"dw{index:02d}")
            roles_extra = [Role.TRACK_OFFICE] if name in TRACK_OFFICE_UNITS.values() else []
            self._user(
                f"{prefix}_lly",
                self.rng.choice(surnames) + "".join(self.rng.sample(given, 2)),
                unit,
                "整改联络员",
                [Role.LIAISON, *roles_extra],
            )
            self._user(
                f"{prefix}_fzr",
                self.rng.choice(surnames) + "".join(self.rng.sample(given, 2)),
                unit,
                "主要负责人",
                [Role.UNIT_HEAD],
            )
        self._user("zzb_zx", "吕文博", self.units["区委组织部"], "选人用人专项整改办干部", [Role.TRACK_OFFICE])
        self._user("jw_jd", "韩清源", self.units["区纪委监委"], "监督检查室主任", [Role.SUPERVISION])
        self._user("sxsz", "省委第三巡视组", None, "巡视组联络人", [Role.PROVINCIAL])
        self._user("xtgly", "系统管理员", None, "", [Role.SYSTEM_ADMIN])
        self._user("aqgly", "安全管理员", None, "", [Role.SECURITY_ADMIN])
        self._user("sjgly", "审计管理员", None, "", [Role.AUDIT_ADMIN])

    def _tracks(self):
        return {kind: self.units[name] for kind, name in TRACK_OFFICE_UNITS.items()}

    def _previous_round(self):
        previous = services.round_create(
            actor=self.office,
            title=DEMO_PREVIOUS_ROUND_TITLE,
            inspection_team="省委第五巡视组",
            feedback_date=self.today - datetime.timedelta(days=3 * 365),
            report_deadline=self.today - datetime.timedelta(days=3 * 365 - 60),
            track_offices={Track.Kind.GENERAL: self.units[OFFICE_UNIT]},
        )
        aspect = services.aspect_create(actor=self.office, inspection_round=previous, seq=1, title="上轮巡视反馈问题")
        track = previous.tracks.get()
        self.previous_problems = {}
        for seq, (code, title, lead_unit) in enumerate(demo_data.PREVIOUS_ROUND_PROBLEMS, start=1):
            self.previous_problems[code] = services.problem_create(
                actor=self.office,
                inspection_round=previous,
                aspect=aspect,
                track=track,
                code=code,
                seq=seq,
                title=title,
                text=title,
                problem_type=Problem.ProblemType.SPECIFIC,
                deadline_category=DeadlineCategory.BY_DATE,
                due_date=previous.report_deadline,
                lead_official=self.leaders[0],
                lead_unit=self.units[lead_unit],
            )
        return previous

    def _current_round(self, previous):
        today = self.today
        feedback = previous_workday(today - datetime.timedelta(days=56))
        deadline = today + datetime.timedelta(days=40)
        current = services.round_create(
            actor=self.office,
            title=DEMO_ROUND_TITLE,
            inspection_team="省委第三巡视组",
            period_start=feedback - datetime.timedelta(days=90),
            period_end=feedback - datetime.timedelta(days=30),
            feedback_date=feedback,
            report_deadline=deadline,
            rectification_end=deadline - datetime.timedelta(days=10),
            previous_round=previous,
            track_offices=self._tracks(),
        )
        aspects = [
            services.aspect_create(actor=self.office, inspection_round=current, seq=i, title=title)
            for i, title in enumerate(demo_data.ASPECTS, start=1)
        ]
        campaigns = [
            services.campaign_create(
                actor=self.office,
                inspection_round=current,
                name=name,
                lead_unit=self.units[unit],
                description=desc,
                # The campaigns finish a fortnight before the report, to leave time for the write-up.
                deadline=deadline - datetime.timedelta(days=14),
            )
            for name, unit, desc in demo_data.CAMPAIGNS
        ]
        tracks = {t.kind: t for t in current.tracks.all()}
        per_aspect: dict[int, int] = {}
        for seq, item in enumerate(demo_data.PROBLEMS, start=1):
            aspect_index = item["aspect"]
            per_aspect[aspect_index] = per_aspect.get(aspect_index, 0) + 1
            code = f"{aspect_index + 1}.{per_aspect[aspect_index]}"
            problem = self._problem(current, aspects, campaigns, tracks, item, code, seq, feedback, deadline)
            for m_seq, m_item in enumerate(item["measures"], start=1):
                self._measure(problem, m_item, m_seq, feedback, deadline)
        self._history(current)
        self._past_cycles(current)
        self._records(current)

    def _past_cycles(self, current, weeks=4):
        """The weekly cycles of the last few weeks, each with the snapshot its summary froze, so the
        trend has a line and each past week's page has its figures.

        The figures are those of that week's Sunday. The demo walks its close-outs today, so for
        the past weeks an item counts as closed from its due date on (items here close around
        their due dates); the closed counts are set consistently in the headline and by state."""
        closed_due = list(
            Measure.objects.filter(problem__round=current, closeout_state=CloseOutState.CLOSED).values_list(
                "due_date", flat=True
            )
        )
        done = {
            f"{step}_state": StepState.DONE for step in ("dispatch", "remind_eve", "remind_day", "collect", "summary")
        }
        this_year, this_week = iso_week_of(self.today)
        # Loaded before this week's summary is due (early on a Monday), last week's summary is left
        # to the weekly cycle, which runs it at once: the newest frozen week and its package are then
        # of today, as they are on any other day.
        summary_due = services.step_due_at(current, this_year, this_week, "summary") <= timezone.now()
        for weeks_ago in range(weeks, 0, -1):
            iso_year, iso_week = iso_week_of(self.today - datetime.timedelta(days=7 * weeks_ago))
            sunday = week_monday(iso_year, iso_week) + datetime.timedelta(days=6)
            if sunday < current.feedback_date:
                continue
            cycle = services.cycle_for(current, iso_year, iso_week)
            for field, state in done.items():
                setattr(cycle, field, state)
            if weeks_ago == 1 and not summary_due:
                cycle.summary_state = StepState.PENDING
                cycle.save()
                continue
            cycle.log = {"summary": {"note": "演示数据：按该周情况补建"}}
            cycle.save()
            figures = round_week_figures(inspection_round=current, iso_year=iso_year, iso_week=iso_week, today=sunday)
            closed_then = sum(1 for due in closed_due if due <= sunday)
            by_closeout = figures["measures"]["by_closeout"]
            later = len(closed_due) - closed_then
            by_closeout[CloseOutState.CLOSED] = by_closeout.get(CloseOutState.CLOSED, 0) - later
            by_closeout[CloseOutState.NOT_APPLIED] = by_closeout.get(CloseOutState.NOT_APPLIED, 0) + later
            if not by_closeout[CloseOutState.CLOSED]:
                del by_closeout[CloseOutState.CLOSED]
            figures["measures"]["closed"] = closed_then
            WeeklySnapshot.objects.create(cycle=cycle, figures=figures)

    def _records(self, current):
        """The records behind the report's figures: clues, meetings, a visit, the secretary on site.
        Fixed, with no random draws, so the rest of the seeded story stays as it was."""
        today = self.today
        supervision = User.objects.get(username="jw_jd")
        problems = list(Problem.objects.filter(round=current).order_by("seq"))
        led = next((p for p in problems if p.is_secretary_led), problems[0])
        services.petition_clue_create(
            actor=supervision,
            inspection_round=current,
            kind="clue",
            code="XSXS-2026-01",
            source="省委巡视组移交",
            quantity=12,
            handled=9,
            transferred=3,
            summary="巡视期间移交的问题线索",
            handling_unit=self.units["区纪委监委"],
            received_on=current.feedback_date,
        )
        services.petition_clue_create(
            actor=self.office,
            inspection_round=current,
            kind="petition",
            code="XSXF-2026-01",
            source="省委巡视组移交",
            quantity=35,
            handled=30,
            summary="巡视期间收到的群众来信来访",
            handling_unit=self.units[OFFICE_UNIT],
            received_on=current.feedback_date,
        )
        for kind, title, days, chair in (
            ("standing_committee", "区委常委会会议专题研究巡视反馈意见整改", 3, "区委书记"),
            ("leading_group", "整改落实工作领导小组第一次会议", 7, "区委书记"),
            ("dispatch_meeting", "巡视整改工作调度会", 21, "区委副书记"),
        ):
            services.activity_create(
                actor=self.office,
                inspection_round=current,
                kind=kind,
                title=title,
                held_on=current.feedback_date + datetime.timedelta(days=days),
                chair=chair,
                decisions="审议整改方案，明确责任分工和完成时限。",
                problems=[led],
            )
        services.activity_create(
            actor=supervision,
            inspection_round=current,
            kind="supervision",
            title="巡视整改落实情况专项督导",
            held_on=today - datetime.timedelta(days=10),
            participants="区纪委监委、区委督查室",
            place="城关街道",
            findings="个别整改台账更新不及时，佐证材料不完整。",
            problems=[led],
        )
        if led.is_secretary_led:
            services.secretary_event_create(
                actor=self.office,
                problem=led,
                kind="deploy",
                held_on=current.feedback_date + datetime.timedelta(days=10),
                place="区委常委会议室",
                notes="区委书记现场部署整改任务，要求挂图作战、逐项销号。",
            )

    def _problem(self, current, aspects, campaigns, tracks, item, code, seq, feedback, deadline):
        category = item["deadline_category"]
        if category == DeadlineCategory.IMMEDIATE:
            due = previous_workday(feedback + datetime.timedelta(days=30))
        elif category == DeadlineCategory.BY_DATE:
            due = previous_workday(deadline - datetime.timedelta(days=self.rng.randrange(3, 25)))
        else:
            due = previous_workday(deadline)
        return services.problem_create(
            actor=self.office,
            inspection_round=current,
            aspect=aspects[item["aspect"]],
            track=tracks[item["track"]],
            code=code,
            seq=seq,
            title=item["title"],
            text=item["text"],
            problem_type=item["problem_type"],
            deadline_category=category,
            due_date=due,
            goal=item["goal"],
            lead_official=self.leaders[item["lead_official"]],
            responsible_leaders=[self.leaders[i] for i in item["responsible_leaders"]],
            lead_unit=self.units[item["lead_unit"]],
            responsible_units=[self.units[name] for name in item["responsible_units"]],
            manifestations=item["manifestations"],
            criteria=item["criteria"],
            previous_problem=self.previous_problems.get(item["previous"]) if item["previous"] else None,
            is_secretary_led=item["secretary_led"],
            campaign=campaigns[item["campaign"]] if item["campaign"] is not None else None,
        )

    def _measure(self, problem, item, seq, feedback, deadline):
        start = previous_workday(feedback + datetime.timedelta(days=self.rng.randrange(1, 8)))
        span = (problem.due_date - start).days
        offset = self.rng.randrange(min(20, span), span + 1) if span > 0 else 0
        due = max(start, previous_workday(start + datetime.timedelta(days=offset)))
        return services.measure_create(
            actor=self.office,
            problem=problem,
            code=f"{problem.code}.{seq}",
            seq=seq,
            text=item["text"],
            kind=item["kind"],
            owner_unit=self.units[item["owner_unit"]],
            handler_name=item["handler"],
            handler_phone=f"139{self.rng.randrange(10**7, 10**8)}",
            start_date=start,
            due_date=due,
            expected_deliverable=item["deliverable"],
            milestones=milestones_backwards(start=start, due=due, titles=MILESTONE_TITLES),
        )

    def _past_reports(self, measures):
        """Three past weeks of confirmed reports, so the trend and history pages have content."""
        reports = []
        for weeks_ago in (3, 2, 1):
            day = self.today - datetime.timedelta(days=7 * weeks_ago)
            iso_year, iso_week = iso_week_of(day)
            submitted = timezone.make_aware(
                datetime.datetime.combine(report_cutoff(iso_year, iso_week).date(), datetime.time(10, 30))
            )
            for measure in measures:
                if measure.percent == 0 or measure.start_date > day:
                    continue
                percent = max(0, measure.percent - 10 * weeks_ago)
                if percent >= 100:
                    state = ProgressState.COMPLETED
                elif measure.problem.deadline_category == DeadlineCategory.LONG_TERM:
                    state = ProgressState.ONGOING
                else:
                    state = ProgressState.IN_PROGRESS
                reports.append(
                    ProgressReport(
                        measure=measure,
                        iso_year=iso_year,
                        iso_week=iso_week,
                        state=ProgressReport.State.CONFIRMED,
                        # That week's text and state go with that week's percent; a separate
                        # random stream, so the rest of the seeded history is unchanged.
                        progress_this_week=progress_text(percent, self.text_rng),
                        cumulative_state=state,
                        percent=percent,
                        next_week_plan="继续按整改方案推进，做好佐证材料收集。",
                        is_late=self.rng.random() < 0.1,
                        submitted_at=submitted,
                        confirmed_at=submitted + datetime.timedelta(hours=3),
                    )
                )
        ProgressReport.objects.bulk_create(reports)

    def _closeouts(self, measures):
        """Walk finished measures through the real close-out chain, as far as each one got."""
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        recorded = set()
        for measure in measures:
            target = self.closeout_targets.get(measure.pk)
            if target is None:
                continue
            problem = measure.problem
            owner_head = access.unit_heads(measure.owner_unit).first()
            owner_liaison = access.unit_liaisons(measure.owner_unit).first()
            proof = services.evidence_upload(
                actor=owner_liaison,
                measure=measure,
                uploaded=SimpleUploadedFile(f"{measure.code}整改完成报告.pdf", pdf),
                kind=Evidence.Kind.REPORT,
            )
            criteria = services.closeout_criteria(problem=problem, measure=measure)
            request = services.closeout_apply(
                actor=owner_head,
                problem=problem,
                measure=measure,
                statement="各项整改任务已按方案全部完成，相关佐证材料已整理归档，经单位自查达到验收标准。",
                pledged=True,
                checks={criterion.pk: [proof.pk] for criterion in criteria},
                # One report proves every criterion: said so under each, as the rule asks.
                notes={criterion.pk: "整改完成报告逐条载明了本项标准的完成情况和依据。" for criterion in criteria}
                if len(criteria) > 1
                else None,
            )
            if target == CloseOutState.PENDING_LEAD_UNIT:
                continue
            if request.state == CloseOutRequest.State.PENDING_LEAD_UNIT:
                reviewer = access.unit_liaisons(problem.lead_unit).first()
                services.closeout_decide(
                    actor=reviewer, request=request, approve=True, comment="材料齐全，同意报领导审核。"
                )
            # The leader signs as on screen, re-entering the (shared) demo password.
            services.closeout_decide(
                actor=problem.lead_official, request=request, approve=True, comment="同意。", password=DEMO_PASSWORD
            )
            if target == CloseOutState.PENDING_OFFICE:
                continue
            if problem.pk not in recorded and self.rng.random() < 0.5:
                recorded.add(problem.pk)
                services.rule_record_create(
                    actor=owner_liaison,
                    problem=problem,
                    title=f"关于{problem.title[:12]}的长效管理办法",
                    doc_number=f"示{measure.owner_unit.short_name or '区'}发〔{self.today.year}〕{len(recorded) + 10}号",
                    issued_on=self.today - datetime.timedelta(days=self.rng.randrange(5, 20)),
                    issuing_unit=measure.owner_unit,
                )
            services.closeout_decide(
                actor=self.office,
                request=request,
                approve=True,
                comment="经核查，符合销号条件。",
                no_accountability_reason="经核查，该措施不涉及违纪违规责任人。",
                no_rules_reason="已有相关制度覆盖，本措施无需另行建制。",
            )

    def _history(self, current):
        """Weeks of work before today: progress, milestones reached, some items already closed."""
        today = self.today
        now = timezone.now()
        # A fixed order, so the seeded random history is the same on every database.
        measures = list(Measure.objects.filter(problem__round=current).select_related("problem").order_by("pk"))
        milestones_done = []
        for measure in measures:
            span = max(1, (measure.due_date - measure.start_date).days)
            expected = min(100, max(0, round(100 * (today - measure.start_date).days / span)))
            # Most units keep up; some lag behind, and a few stopped updating (grey light).
            lag = self.rng.choice([0, 0, 0, 5, 10, 15, 30, 50])
            percent = max(0, min(100, expected - lag))
            # Most items already past their due date were in fact finished; some are not (red).
            if measure.due_date < today and self.rng.random() < 0.7:
                percent = 100
            measure.percent = percent
            days_since_update = self.rng.choice([1, 2, 3, 4, 6, 9, 15])
            measure.last_reported_at = now - datetime.timedelta(days=days_since_update)
            if percent >= 100:
                measure.progress_state = ProgressState.COMPLETED
                # How far its close-out got; the chain itself is walked through the services below.
                self.closeout_targets[measure.pk] = self.rng.choice(
                    [
                        CloseOutState.CLOSED,
                        CloseOutState.CLOSED,
                        CloseOutState.PENDING_OFFICE,
                        CloseOutState.PENDING_LEAD_UNIT,
                    ]
                )
                measure.latest_progress = FINISHED_TEXT
            elif percent > 0:
                measure.progress_state = (
                    ProgressState.ONGOING
                    if measure.problem.deadline_category == DeadlineCategory.LONG_TERM
                    else ProgressState.IN_PROGRESS
                )
                # One draw among four, as before, so the rest of the seeded history is unchanged.
                measure.latest_progress = progress_text(percent, self.rng)
            else:
                measure.progress_state = ProgressState.NOT_STARTED
                measure.last_reported_at = None
            for milestone in measure.milestones.all():
                reached = (milestone.due_date - measure.start_date).days <= percent / 100 * span
                if reached and milestone.due_date <= today:
                    milestone.done_on = milestone.due_date - datetime.timedelta(days=self.rng.randrange(0, 3))
                    milestones_done.append(milestone)
        Measure.objects.bulk_update(
            measures, ["percent", "progress_state", "closeout_state", "latest_progress", "last_reported_at"]
        )
        # Everything was claimed weeks ago except the last problem's measures, which its lead unit
        # decomposed only this week: those still wait for their units (and one was objected to).
        last_problem = max(m.problem.seq for m in measures)
        for measure in measures:
            if measure.problem.seq == last_problem:
                continue
            measure.claim_state = Measure.ClaimState.CLAIMED
            measure.claimed_at = now - datetime.timedelta(days=50)
        pending = [m for m in measures if m.problem.seq == last_problem]
        if pending:
            pending[0].claim_state = Measure.ClaimState.OBJECTED
            pending[0].objection_reason = "该项工作由区财政局统筹，本单位仅配合，建议改由区财政局牵头落实。"
        # Not claimed, not started: nobody may report on a measure, mark its milestones or apply to
        # close it before its unit claims it. (No random draws here: the rest of the story stays put.)
        for measure in pending:
            measure.percent, measure.progress_state = 0, ProgressState.NOT_STARTED
            measure.latest_progress, measure.last_reported_at = "", None
            self.closeout_targets.pop(measure.pk, None)
        pending_ids = {m.pk for m in pending}
        milestones_done = [m for m in milestones_done if m.measure_id not in pending_ids]
        Measure.objects.bulk_update(
            measures,
            [
                "claim_state",
                "claimed_at",
                "objection_reason",
                "percent",
                "progress_state",
                "latest_progress",
                "last_reported_at",
            ],
        )
        Milestone.objects.bulk_update(milestones_done, ["done_on"])
        self._past_reports(measures)
        self._closeouts(measures)
        for problem in Problem.objects.filter(round=current).prefetch_related("measures"):
            progress = {m.progress_state for m in problem.measures.all()}
            if progress - {ProgressState.NOT_STARTED}:
                problem.progress_state = (
                    ProgressState.ONGOING
                    if problem.deadline_category == DeadlineCategory.LONG_TERM
                    else ProgressState.IN_PROGRESS
                )
            problem.save(update_fields=["progress_state"])
