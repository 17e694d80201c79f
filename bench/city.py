"""A reproducible "city" for the benchmark, written with bulk inserts.

``city_build(scale=CITY, seed=...)`` writes, in one transaction, 300 units at three levels,
3,000 accounts, 6 rounds of 300 problems, 9,000 measures with milestones, 200,000 weekly
reports, 20,000 evidence records, 5,000 close-out sign-off steps and 50 weeks of weekly
cycles and frozen snapshots, then grants the object permissions in bulk (``bench.grants``).
The same seed gives the same city (the dates follow the day it is built).

The application's services are not used: they write one row and one audit entry at a time
and would take hours. What they guarantee is kept by hand instead: one open close-out
request per measure, states that agree between a measure and its request, measure due dates
within the problem's, the grants of ``_grants_for_problem``. The audit log stays empty.

Evidence files: only ``scale.evidence_files`` small PDFs are really written; every evidence
record gets its own file name (the column is unique), made as a hard link to one of them, so
each record downloads a real file without writing 20,000 of them.
"""

import contextlib
import datetime
import hashlib
import math
import os
import random
import uuid
from dataclasses import asdict, dataclass, replace

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Unit, User
from accounts.roles import Role
from rectification.figures import round_week_figures
from rectification.models import (
    AcceptanceCriterion,
    Aspect,
    Campaign,
    CloseOutRequest,
    CloseOutState,
    CoordinationItem,
    DeadlineCategory,
    Evidence,
    InspectionRound,
    Manifestation,
    Measure,
    Milestone,
    MissedReport,
    Notification,
    Problem,
    ProgressReport,
    ProgressState,
    SignOffStep,
    StepState,
    SupervisionNotice,
    Track,
    WeeklyCycle,
    WeeklySnapshot,
)
from rectification.workdays import iso_week_of, week_key, week_monday

from .grants import ProblemAssignment, grants_bulk_write

BATCH = 5000
ROUND_TITLE_PREFIX = "基准城市"
# Every account of the city shares this password (hashed once).
PASSWORD = "Bench@2026city"


@dataclass(frozen=True)
class CityScale:
    organs: int = 30
    departments: int = 110
    townships: int = 160
    users: int = 3000
    leaders: int = 40
    rounds: int = 6
    problems: int = 1800
    measures: int = 9000
    reports: int = 200_000
    evidence: int = 20_000
    signoffs: int = 5000
    weeks: int = 50
    notifications_per_user: int = 20
    evidence_files: int = 8

    @property
    def units(self):
        return self.organs + self.departments + self.townships

    def times(self, factor):
        """The same organisation (units, accounts, leaders, the last 50 weeks) keeping ``factor``
        times the work: rounds, problems, measures, weekly reports, evidence, sign-off steps and
        notifications. The busiest unit's worklist grows with it; the org chart does not."""
        if factor < 1:
            raise ValueError("The scale is a whole number of cities, at least 1.")
        return replace(
            self,
            rounds=self.rounds * factor,
            problems=self.problems * factor,
            measures=self.measures * factor,
            reports=self.reports * factor,
            evidence=self.evidence * factor,
            signoffs=self.signoffs * factor,
            notifications_per_user=self.notifications_per_user * factor,
        )


CITY = CityScale()


# --- names -----------------------------------------------------------------------------------

OFFICE_UNIT = "市委巡视整改工作领导小组办公室"
TRACK_OFFICE_UNITS = {
    Track.Kind.INSPECTION: "市委巡察工作领导小组办公室",
    Track.Kind.CADRE: "市委组织部",
    Track.Kind.IDEOLOGY: "市委宣传部",
}
SUPERVISION_UNIT = "市纪委监委"
ORGANS = [
    OFFICE_UNIT,
    "市委巡察工作领导小组办公室",
    "市委组织部",
    "市委宣传部",
    SUPERVISION_UNIT,
    "市委办公室",
    "市人大常委会办公室",
    "市政府办公室",
    "市政协办公室",
    "市委统战部",
    "市委政法委",
    "市委政策研究室",
    "市委网信办",
    "市委编办",
    "市直机关工委",
    "市委党校",
    "市委老干部局",
    "市委机要保密局",
    "市总工会",
    "团市委",
    "市妇联",
    "市科协",
    "市工商联",
    "市文联",
    "市残联",
    "市红十字会",
    "市中级人民法院",
    "市人民检察院",
    "市委党史研究室",
    "市档案馆",
]
DEPARTMENTS = [
    "市发展和改革委员会",
    "市教育局",
    "市科学技术局",
    "市工业和信息化局",
    "市公安局",
    "市民政局",
    "市司法局",
    "市财政局",
    "市人力资源和社会保障局",
    "市自然资源和规划局",
    "市生态环境局",
    "市住房和城乡建设局",
    "市交通运输局",
    "市水利局",
    "市农业农村局",
    "市商务局",
    "市文化广电旅游局",
    "市卫生健康委员会",
    "市退役军人事务局",
    "市应急管理局",
    "市审计局",
    "市国有资产监督管理委员会",
    "市市场监督管理局",
    "市统计局",
    "市医疗保障局",
    "市城市管理局",
    "市林业局",
    "市体育局",
    "市信访局",
    "市数据局",
    "市机关事务管理局",
    "市金融工作局",
    "市乡村振兴局",
    "市投资促进局",
    "市行政审批服务局",
    "市住房公积金管理中心",
    "市公共资源交易中心",
    "市融媒体中心",
    "市供销合作社",
    "市气象局",
    "市税务局",
    "市消防救援支队",
    "市烟草专卖局",
    "市邮政管理局",
    "市人民防空办公室",
    "市地震局",
    "市民族宗教事务局",
    "市外事办公室",
    "市粮食和物资储备局",
    "市城市建设投资集团",
]
PLACE_CHARS = "东西南北中新安和平兴华龙凤山河湖江海金银青松柏桃李杏梅兰竹泉石桥湾塘岭坪坝岗沙田溪"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "明华建国志强秀英丽娟海燕晓东文静国庆红梅玉兰小军春生德胜桂芳永康佳怡子涵宇轩雨欣思远博文俊杰浩然梓萱欣怡嘉怡诗涵"
)
LEADER_TITLES = [
    "市委书记",
    "市长",
    "市委副书记",
    "常务副市长",
    "副市长",
    "市委常委",
    "市人大常委会副主任",
    "市政协副主席",
]
ASPECTS = [
    "贯彻落实党中央重大决策部署方面",
    "落实全面从严治党主体责任方面",
    "落实新时代党的组织路线方面",
    "意识形态工作责任制落实方面",
    "巡视巡察和审计整改方面",
]
TOPICS = [
    "违规发放津贴补贴",
    "政府投资项目管理",
    "国有资产出租出借",
    "惠民惠农资金监管",
    "干部选拔任用程序",
    "基层党组织建设",
    "意识形态阵地管理",
    "营商环境优化",
    "生态环境问题整改",
    "安全生产监管",
    "财政资金绩效管理",
    "工程招投标监管",
    "债务风险防控",
    "民生实事推进",
    "巡察整改落实",
]
SENTENCES = [
    "部分单位对上级决策部署理解不深不透，贯彻落实打折扣、搞变通。",
    "有的项目前期论证不充分，建成后闲置浪费，未发挥应有效益。",
    "制度执行不严格，个别事项未经集体研究即作出决定。",
    "监督检查流于形式，对发现的问题跟踪督办不到位。",
    "专项资金拨付迟缓，资金沉淀在部门和镇街账户。",
    "干部档案审核不细致，存在信息前后不一致的情况。",
    "基层党组织“三会一课”制度落实不经常，组织生活质量不高。",
    "对网络舆情研判处置不及时，阵地管理存在薄弱环节。",
    "上轮巡视指出的问题整改不彻底，出现反弹回潮。",
    "部分工程变更签证手续不全，结算审核把关不严。",
]
MEASURE_TEXTS = [
    "全面开展自查自纠，建立问题清单、任务清单和责任清单，逐项销号。",
    "修订完善相关管理办法，堵塞制度漏洞，形成长效机制。",
    "对违规发放的资金全部清退，追缴到位后报送佐证材料。",
    "对相关责任人进行约谈提醒，情节严重的移交纪检监察机关处理。",
    "组织专题培训和警示教育，提高干部依规办事的意识和能力。",
    "开展专项督查，对整改不力的单位进行通报批评。",
    "建立月调度、季通报工作机制，压实各方整改责任。",
    "完成项目清理盘活，制定闲置资产处置方案并组织实施。",
]
PROGRESS_TEXTS = [
    "已制定整改工作方案并召开专题部署会，正在逐项推进。",
    "已完成前期摸排，建立问题台账，正在督促相关单位落实。",
    "已起草相关制度文件，正在征求意见，预计按期出台。",
    "已完成阶段性任务，正在组织“回头看”，巩固整改成果。",
    "本周完成资金清理核对，已清退部分违规资金。",
    "本周召开推进会一次，对滞后事项进行了专题调度。",
    "本周完成对下属单位的督导检查，发现问题已现场交办。",
    "本周开展专题培训一期，参训人员签到表已归档。",
]
MILESTONE_TITLES = ["制定整改工作方案", "取得阶段性成果", "收集整理佐证材料", "申请销号"]
PDF_HEAD = b"%PDF-1.4\n1 0 obj<<>>endobj\n"


STEP_CHAINS = {
    # state -> steps of the chain so far, (step, decision); the lead-unit step is "skipped"
    # when the applicant is the lead unit itself, as the service does.
    CloseOutRequest.State.PENDING_LEAD_UNIT: [("apply", "submitted")],
    CloseOutRequest.State.PENDING_LEADER: [("apply", "submitted"), ("lead_unit", "approved")],
    CloseOutRequest.State.PENDING_OFFICE: [("apply", "submitted"), ("lead_unit", "approved"), ("leader", "approved")],
    CloseOutRequest.State.CLOSED: [
        ("apply", "submitted"),
        ("lead_unit", "approved"),
        ("leader", "approved"),
        ("office", "approved"),
    ],
    CloseOutRequest.State.RETURNED: [("apply", "submitted"), ("lead_unit", "returned")],
}


@contextlib.contextmanager
def historic_timestamps(*models):
    """Let bulk inserts keep the past times set on the rows.

    ``auto_now``/``auto_now_add`` fields would stamp every row with the moment of the build, but
    the dashboards, the formalism signals and the weekly figures read those times. Switched off
    for the duration of the block only; every row written inside must set those fields itself.
    """
    fields = [
        f
        for model in models
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _bulk(model, rows):
    """Insert in batches; returns the rows with their primary keys (PostgreSQL and SQLite 3.35+)."""
    return model.objects.bulk_create(rows, batch_size=BATCH)


def _at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


class _CityBuilder:
    def __init__(self, *, scale, seed, today):
        self.scale = scale
        self.rng = random.Random(seed)
        self.today = today
        self.now = timezone.now()
        current_year, current_week = iso_week_of(today)
        self.current_monday = week_monday(current_year, current_week)
        # Week index w: 0 is the oldest past week, scale.weeks is the current week.
        self.mondays = [
            self.current_monday - datetime.timedelta(days=7 * (scale.weeks - w)) for w in range(scale.weeks + 1)
        ]
        self.counts = {}

    # -- helpers --

    def week_index(self, day):
        if day < self.mondays[0]:
            return None
        return min(self.scale.weeks, (day - self.mondays[0]).days // 7)

    def person_name(self):
        return self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, 2))

    def weighted(self, weights, k=1):
        """``k`` distinct indices drawn with the given weights."""
        chosen = []
        while len(chosen) < k:
            index = self.rng.choices(range(len(weights)), weights=weights)[0]
            if index not in chosen:
                chosen.append(index)
        return chosen

    def text(self, pool, n):
        return "".join(self.rng.sample(pool, n))

    # -- the build --

    def build(self):
        self.units_create()
        self.users_create()
        self.rounds_create()
        self.problems_create()
        self.measures_plan()
        self.measures_create()
        self.closeouts_create()
        self.reports_create()
        self.evidence_create()
        self.cycles_create()
        self.notifications_create()
        written = grants_bulk_write(self.assignments(), self.group_of_unit)
        self.counts.update(written)
        return self.counts

    def units_create(self):
        s = self.scale
        organs = (ORGANS + [f"市委第{k}工作委员会" for k in range(1, s.organs)])[: s.organs]
        departments = [
            DEPARTMENTS[k]
            if k < len(DEPARTMENTS)
            else f"{DEPARTMENTS[k % len(DEPARTMENTS)]}第{k // len(DEPARTMENTS) + 1}分局"
            for k in range(s.departments)
        ]
        places = set()
        while len(places) < s.townships:
            places.add(self.text(PLACE_CHARS, 2) + self.rng.choice(["镇", "街道", "乡"]))
        townships = sorted(places)
        specs = (
            [(name, Unit.Level.ORGAN, Unit.Kind.PARTY) for name in organs]
            + [(name, Unit.Level.DEPARTMENT, Unit.Kind.GOVERNMENT) for name in departments]
            + [(name, Unit.Level.TOWNSHIP, Unit.Kind.TOWNSHIP) for name in townships]
        )
        groups = _bulk(Group, [Group(name=f"unit:{name}") for name, _level, _kind in specs])
        self.units = _bulk(
            Unit,
            [
                Unit(
                    name=name,
                    # 市财政局 → 财政局; a 市委 office keeps its name (委政法委 is no name).
                    short_name="" if name.startswith("市委") else name.removeprefix("市")[:30],
                    level=level,
                    kind=kind,
                    group=group,
                    sort_order=order,
                )
                for order, ((name, level, kind), group) in enumerate(zip(specs, groups, strict=True), start=1)
            ],
        )
        self.group_of_unit = {unit.pk: unit.group_id for unit in self.units}
        by_name = {unit.name: unit for unit in self.units}
        self.office_unit = by_name.get(OFFICE_UNIT, self.units[0])
        self.track_units = {Track.Kind.GENERAL: self.office_unit}
        for kind, name in TRACK_OFFICE_UNITS.items():
            self.track_units[kind] = by_name.get(name, self.office_unit)
        self.supervision_unit = by_name.get(SUPERVISION_UNIT)
        # The units that own work: every unit but the office itself. Some are much busier than
        # others (weights 1/sqrt(rank) over a random order), as in a real city.
        self.work_units = [unit for unit in self.units if unit.pk != self.office_unit.pk]
        self.rng.shuffle(self.work_units)
        self.unit_weights = [1 / math.sqrt(rank) for rank in range(1, len(self.work_units) + 1)]
        self.counts["units"] = len(self.units)

    def users_create(self):
        s = self.scale
        password = make_password(PASSWORD)
        role_groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
        specs = []  # (username, full_name, unit, title, roles)

        def add(username, full_name, unit, title, roles):
            specs.append((username, full_name, unit, title, roles))

        for k in range(1, 9):
            add(f"zgb{k:02d}", self.person_name(), self.office_unit, "整改办干部", [Role.OFFICE])
        leader_names = set()
        while len(leader_names) < s.leaders:
            leader_names.add(self.person_name())
        for k, name in enumerate(sorted(leader_names), start=1):
            add(f"ld{k:02d}", name, None, LEADER_TITLES[min(k - 1, len(LEADER_TITLES) - 1)], [Role.LEADER])
        for k in range(1, 6):
            add(f"jw{k:02d}", self.person_name(), self.supervision_unit, "监督检查室干部", [Role.SUPERVISION])
        for k in range(1, 4):
            add(f"sx{k:02d}", f"省委巡视组联络人{k}", None, "巡视组联络人", [Role.PROVINCIAL])
        for k, role in enumerate((Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN), start=1):
            add(f"admin{k}", str(role.label), None, "", [role])
        track_office_units = {unit.pk for kind, unit in self.track_units.items() if kind != Track.Kind.GENERAL}
        for index, unit in enumerate(self.units, start=1):
            if unit.pk == self.office_unit.pk:
                continue
            extra = [Role.TRACK_OFFICE] if unit.pk in track_office_units else []
            add(f"dw{index:03d}_lly", self.person_name(), unit, "整改联络员", [Role.LIAISON, *extra])
            add(f"dw{index:03d}_fzr", self.person_name(), unit, "主要负责人", [Role.UNIT_HEAD])
        if len(specs) > s.users:
            raise ValueError(f"A city of this size needs at least {len(specs)} accounts.")
        # Everyone else works in a unit, more of them in the busy ones.
        index_of = {unit.pk: index for index, unit in enumerate(self.units, start=1)}
        serial = {}
        while len(specs) < s.users:
            unit = self.work_units[self.weighted(self.unit_weights)[0]]
            serial[unit.pk] = serial.get(unit.pk, 0) + 1
            roles = self.rng.choices([[Role.LIAISON], [Role.UNIT_HEAD], []], weights=[60, 15, 25])[0]
            add(f"dw{index_of[unit.pk]:03d}_{serial[unit.pk]:02d}", self.person_name(), unit, "工作人员", roles)
        users = _bulk(
            User,
            [
                User(
                    username=username,
                    full_name=full_name,
                    unit=unit,
                    title=title,
                    phone=f"138{self.rng.randrange(10**7, 10**8)}",
                    password=password,
                    password_changed_at=self.now,
                    is_staff=username.startswith("zgb"),
                )
                for username, full_name, unit, title, _roles in specs
            ],
        )
        memberships = []
        for user, (_u, _n, unit, _t, roles) in zip(users, specs, strict=True):
            memberships += [User.groups.through(user_id=user.pk, group_id=role_groups[role].pk) for role in roles]
            if unit is not None:
                memberships.append(User.groups.through(user_id=user.pk, group_id=unit.group_id))
        _bulk(User.groups.through, memberships)
        self.users = users
        roles_of = {user.pk: roles for user, (_u, _n, _unit, _t, roles) in zip(users, specs, strict=True)}
        self.office_user = users[0]
        self.leaders = [u for u in users if Role.LEADER in roles_of[u.pk]]
        self.rng.shuffle(self.leaders)
        self.leader_weights = [1 / math.sqrt(rank) for rank in range(1, len(self.leaders) + 1)]
        self.liaison_of, self.head_of = {}, {}
        for user in users:
            if user.unit_id is None:
                continue
            if Role.LIAISON in roles_of[user.pk]:
                self.liaison_of.setdefault(user.unit_id, user.pk)
            if Role.UNIT_HEAD in roles_of[user.pk]:
                self.head_of.setdefault(user.unit_id, user.pk)
        self.counts["users"] = len(users)

    def rounds_create(self):
        s = self.scale
        self.rounds = []
        previous = None
        for r in range(s.rounds):
            feedback = self.mondays[0] - datetime.timedelta(days=7 * (s.rounds - 1 - r)) + datetime.timedelta(days=1)
            inspection_round = InspectionRound.objects.create(
                title=f"{ROUND_TITLE_PREFIX}第{r + 1}轮巡视反馈问题整改",
                inspection_team=f"省委第{r + 1}巡视组",
                feedback_date=feedback,
                report_deadline=self.today + datetime.timedelta(days=56 + 3 * r),
                previous_round=previous,
            )
            self.rounds.append(inspection_round)
            previous = inspection_round
        tracks = _bulk(
            Track,
            [
                Track(round=r, kind=kind, office_unit=self.track_units[kind])
                for r in self.rounds
                for kind in Track.Kind.values
            ],
        )
        self.tracks = {}
        for track in tracks:
            self.tracks.setdefault(track.round_id, []).append(track)
        aspects = _bulk(
            Aspect, [Aspect(round=r, seq=i, title=t) for r in self.rounds for i, t in enumerate(ASPECTS, start=1)]
        )
        self.aspects = {}
        for aspect in aspects:
            self.aspects.setdefault(aspect.round_id, []).append(aspect)
        campaigns = _bulk(
            Campaign,
            [
                Campaign(
                    round=r,
                    name=f"{topic}专项整治",
                    lead_unit=self.work_units[self.weighted(self.unit_weights)[0]],
                    description=f"集中整治{topic}问题。",
                )
                for r in self.rounds
                for topic in TOPICS[:3]
            ],
        )
        self.campaigns = {}
        for campaign in campaigns:
            self.campaigns.setdefault(campaign.round_id, []).append(campaign)
        self.counts["rounds"] = len(self.rounds)

    def problems_create(self):
        s = self.scale
        per_round = [s.problems // s.rounds + (1 if r < s.problems % s.rounds else 0) for r in range(s.rounds)]
        problems, self.problem_plans = [], []
        previous_by_round = {}
        for r, inspection_round in enumerate(self.rounds):
            per_aspect = {}
            for seq in range(1, per_round[r] + 1):
                aspect = self.rng.choice(self.aspects[inspection_round.pk])
                per_aspect[aspect.seq] = per_aspect.get(aspect.seq, 0) + 1
                topic = self.rng.choice(TOPICS)
                common = self.rng.random() < 0.3
                category = self.rng.choices(
                    [DeadlineCategory.IMMEDIATE, DeadlineCategory.BY_DATE, DeadlineCategory.LONG_TERM],
                    weights=[2, 6, 2],
                )[0]
                feedback = inspection_round.feedback_date
                if category == DeadlineCategory.IMMEDIATE:
                    due = feedback + datetime.timedelta(days=30)
                elif category == DeadlineCategory.BY_DATE:
                    due = feedback + datetime.timedelta(
                        weeks=self.rng.randint(max(2, s.weeks * 2 // 5), max(3, s.weeks * 7 // 5))
                    )
                else:
                    due = None
                lead_unit = self.work_units[self.weighted(self.unit_weights)[0]]
                responsible = [
                    self.work_units[i]
                    for i in self.weighted(self.unit_weights, k=self.rng.randint(1, min(4, len(self.work_units))))
                ]
                responsible = [unit for unit in responsible if unit.pk != lead_unit.pk]
                leaders = [
                    self.leaders[i]
                    for i in self.weighted(
                        self.leader_weights, k=min(len(self.leaders), 1 + self.rng.choice([0, 1, 1, 2]))
                    )
                ]
                previous_problem = None
                if previous_by_round.get(r - 1) and self.rng.random() < 0.05:
                    previous_problem = self.rng.choice(previous_by_round[r - 1])
                problems.append(
                    Problem(
                        round=inspection_round,
                        aspect=aspect,
                        track=self.rng.choices(self.tracks[inspection_round.pk], weights=[6, 1, 1, 1])[0]
                        if len(self.tracks[inspection_round.pk]) == 4
                        else self.tracks[inspection_round.pk][0],
                        code=f"{aspect.seq}.{per_aspect[aspect.seq]}",
                        seq=seq,
                        title=f"{topic}方面存在薄弱环节"[:200],
                        text=self.text(SENTENCES, 4),
                        problem_type=Problem.ProblemType.COMMON if common else Problem.ProblemType.SPECIFIC,
                        deadline_category=category,
                        due_date=due,
                        goal="问题得到全面整改，建立健全长效机制，同类问题不再发生。",
                        lead_official=leaders[0],
                        lead_unit=lead_unit,
                        previous_problem=previous_problem,
                        is_secretary_led=self.rng.random() < 0.04,
                        campaign=self.rng.choice(self.campaigns[inspection_round.pk])
                        if common and self.rng.random() < 0.5
                        else None,
                        created_at=_at(feedback, 9),
                        updated_at=_at(feedback, 9),
                    )
                )
                self.problem_plans.append({"responsible": responsible, "leaders": leaders[1:]})
            previous_by_round[r] = problems[-per_round[r] :] if per_round[r] else []
            # Previous problems must be saved before they are referred to: write round by round.
            with historic_timestamps(Problem):
                _bulk(Problem, problems[len(problems) - per_round[r] :])
        self.problems = problems
        _bulk(
            Problem.responsible_units.through,
            [
                Problem.responsible_units.through(problem_id=p.pk, unit_id=u.pk)
                for p, plan in zip(problems, self.problem_plans, strict=True)
                for u in plan["responsible"]
            ],
        )
        _bulk(
            Problem.responsible_leaders.through,
            [
                Problem.responsible_leaders.through(problem_id=p.pk, user_id=u.pk)
                for p, plan in zip(problems, self.problem_plans, strict=True)
                for u in plan["leaders"]
            ],
        )
        _bulk(
            Manifestation,
            [
                Manifestation(problem=p, seq=i, text=self.rng.choice(SENTENCES))
                for p in problems
                for i in range(1, self.rng.randint(2, 5) + 1)
            ],
        )
        _bulk(
            AcceptanceCriterion,
            [
                AcceptanceCriterion(problem=p, seq=i, text=text)
                for p in problems
                for i, text in enumerate(["问题全部整改到位，有据可查。", "相关制度已印发实施。"], start=1)
            ],
        )
        self.counts["problems"] = len(problems)

    def measures_plan(self):
        """Decide every measure's dates, owner and history before anything is written."""
        s = self.scale
        counts = [3 + self.rng.randint(0, 4) for _ in self.problems]
        # Adjust to the exact total, one measure at a time, keeping every problem at 1 to 9.
        while sum(counts) != s.measures:
            i = self.rng.randrange(len(counts))
            if sum(counts) > s.measures and counts[i] > 1:
                counts[i] -= 1
            elif sum(counts) < s.measures and counts[i] < 9:
                counts[i] += 1
        self.measure_plans = []
        for problem, plan, count in zip(self.problems, self.problem_plans, counts, strict=True):
            candidates = [problem.lead_unit, *plan["responsible"]]
            feedback = problem.round.feedback_date
            for k in range(1, count + 1):
                if self.rng.random() < 0.7:
                    owner = self.rng.choice(candidates)
                else:
                    owner = self.work_units[self.weighted(self.unit_weights)[0]]
                start = feedback + datetime.timedelta(
                    weeks=self.rng.randint(0, max(0, s.weeks * 2 // 5)), days=self.rng.randint(0, 4)
                )
                due = start + datetime.timedelta(weeks=self.rng.randint(max(1, s.weeks // 8), max(2, s.weeks * 4 // 5)))
                if problem.due_date is not None and due > problem.due_date:
                    due = problem.due_date
                start = min(start, due)
                self.measure_plans.append(self._history(problem, owner, k, start, due))

    def _history(self, problem, owner, k, start, due):
        today = self.today
        plan = {"problem": problem, "owner": owner, "seq": k, "start": start, "due": due, "completed_on": None}
        if due < today and self.rng.random() < 0.75:
            plan["percent"] = 100
            plan["completed_on"] = max(start, due - datetime.timedelta(days=self.rng.randint(0, 10)))
            plan["progress"] = ProgressState.COMPLETED
        elif due < today:
            plan["percent"] = self.rng.randint(40, 95)
            plan["progress"] = ProgressState.IN_PROGRESS
        else:
            span = max(1, (due - start).days)
            expected = min(100, max(0, round(100 * (today - start).days / span)))
            plan["percent"] = max(0, expected - self.rng.choice([0, 0, 0, 5, 10, 15, 30, 50]))
            plan["progress"] = ProgressState.IN_PROGRESS if plan["percent"] > 0 else ProgressState.NOT_STARTED
            if (
                plan["progress"] == ProgressState.IN_PROGRESS
                and problem.deadline_category == DeadlineCategory.LONG_TERM
            ):
                plan["progress"] = ProgressState.ONGOING
        plan["closeout"] = CloseOutState.NOT_APPLIED
        # A few units stopped reporting two to four weeks ago (the grey light).
        plan["stalled"] = plan["completed_on"] is None and self.rng.random() < 0.04
        return plan

    def measures_create(self):
        self.closeout_plan()
        rows = []
        for plan in self.measure_plans:
            problem = plan["problem"]
            rows.append(
                Measure(
                    problem=problem,
                    code=f"{problem.code}.{plan['seq']}",
                    seq=plan["seq"],
                    text=self.text(MEASURE_TEXTS, 2),
                    kind=self.rng.choice(Measure.Kind.values),
                    owner_unit=plan["owner"],
                    handler_name=self.person_name(),
                    handler_phone=f"139{self.rng.randrange(10**7, 10**8)}",
                    start_date=plan["start"],
                    due_date=plan["due"],
                    expected_deliverable="制度文件、工作台账和相关佐证材料",
                    progress_state=plan["progress"],
                    percent=plan["percent"],
                    closeout_state=plan["closeout"],
                    claim_state=Measure.ClaimState.CLAIMED,
                    claimed_at=_at(problem.round.feedback_date + datetime.timedelta(days=3), 10),
                    created_at=_at(problem.round.feedback_date, 10),
                    updated_at=_at(problem.round.feedback_date, 10),
                )
            )
        with historic_timestamps(Measure):
            self.measures = _bulk(Measure, rows)
        for measure, plan in zip(self.measures, self.measure_plans, strict=True):
            plan["measure"] = measure
        milestones = []
        for plan in self.measure_plans:
            span = (plan["due"] - plan["start"]).days
            for i, title in enumerate(MILESTONE_TITLES, start=1):
                day = plan["start"] + datetime.timedelta(days=round(span * i / len(MILESTONE_TITLES)))
                reached = (day - plan["start"]).days <= plan["percent"] / 100 * span
                done = day - datetime.timedelta(days=self.rng.randint(0, 2)) if reached and day <= self.today else None
                milestones.append(Milestone(measure=plan["measure"], seq=i, title=title, due_date=day, done_on=done))
        self.milestones = _bulk(Milestone, milestones)
        _bulk(
            AcceptanceCriterion,
            [
                AcceptanceCriterion(
                    problem=plan["problem"], measure=plan["measure"], seq=1, text="措施完成并有佐证材料。"
                )
                for plan in self.measure_plans
            ],
        )
        self.counts["measures"] = len(self.measures)
        self.counts["milestones"] = len(milestones)

    # -- close-out --

    def _chain(self, state, applicant_is_lead):
        steps = list(STEP_CHAINS[state])
        if applicant_is_lead:
            if state == CloseOutRequest.State.PENDING_LEAD_UNIT:
                return None
            steps[1] = ("lead_unit", "skipped")
            if state == CloseOutRequest.State.RETURNED:
                steps.append(("leader", "returned"))
        return steps

    def closeout_plan(self):
        """Pick finished measures for close-out requests until the chains hold exactly ``signoffs`` steps."""
        target = self.scale.signoffs
        States = CloseOutRequest.State
        weights = {
            States.CLOSED: 45,
            States.PENDING_OFFICE: 12,
            States.PENDING_LEADER: 15,
            States.PENDING_LEAD_UNIT: 10,
            States.RETURNED: 6,
        }
        finished = [plan for plan in self.measure_plans if plan["completed_on"] is not None]
        self.rng.shuffle(finished)
        total = 0
        self.closeout_plans = []
        for plan in finished:
            if total == target:
                break
            lead = plan["owner"].pk == plan["problem"].lead_unit_id
            state = self.rng.choices(list(weights), weights=list(weights.values()))[0]
            steps = self._chain(state, lead)
            if steps is None or total + len(steps) > target:
                fitting = [s for s in weights if (c := self._chain(s, lead)) is not None and len(c) == target - total]
                if not fitting:
                    continue
                state = fitting[0]
                steps = self._chain(state, lead)
            total += len(steps)
            plan["closeout"] = CloseOutState(state.value)
            self.closeout_plans.append((plan, state, steps))
        if total != target:
            raise ValueError(
                f"Only {total} of {target} sign-off steps fit this scale: it has too few finished measures."
            )

    def closeouts_create(self):
        requests, step_rows = [], []
        for plan, state, steps in self.closeout_plans:
            problem = plan["problem"]
            applied = _at(plan["completed_on"] + datetime.timedelta(days=1), 10)
            applied = min(applied, self.now - datetime.timedelta(days=len(steps) * 2))
            times = [applied + datetime.timedelta(days=2 * i, hours=i) for i in range(len(steps))]
            requests.append(
                CloseOutRequest(
                    problem=problem,
                    measure=plan["measure"],
                    state=state,
                    statement="各项整改任务已按方案全部完成，相关佐证材料已整理归档。",
                    applicant_unit=plan["owner"],
                    applied_by_id=self.head_of[plan["owner"].pk],
                    pledged_at=applied,
                    no_accountability_reason="经核查，该措施不涉及违纪违规责任人。"
                    if state == CloseOutRequest.State.CLOSED
                    else "",
                    created_at=applied,
                    decided_at=times[-1] if state == CloseOutRequest.State.CLOSED else None,
                )
            )
            actors = {
                "apply": self.head_of[plan["owner"].pk],
                "lead_unit": self.liaison_of[problem.lead_unit_id],
                "leader": problem.lead_official_id,
                "office": self.office_user.pk,
            }
            for (step, decision), when in zip(steps, times, strict=True):
                step_rows.append(
                    (
                        len(requests) - 1,
                        SignOffStep(
                            step=step,
                            decision=decision,
                            actor_id=None if decision == "skipped" else actors[step],
                            comment="退回：佐证材料不足，请补充。" if decision == "returned" else "同意。",
                            created_at=when,
                        ),
                    )
                )
        with historic_timestamps(CloseOutRequest, SignOffStep):
            requests = _bulk(CloseOutRequest, requests)
            for index, step in step_rows:
                step.request = requests[index]
            _bulk(SignOffStep, [step for _index, step in step_rows])
        self.counts["closeout_requests"] = len(requests)
        self.counts["signoff_steps"] = len(step_rows)

    # -- weekly reports --

    def report_slots(self):
        """(week index, plan index) of every report: from the measure's start (within the window)
        to its completion, this week, or the week it stalled."""
        s = self.scale
        slots = []
        for p, plan in enumerate(self.measure_plans):
            first = self.week_index(plan["start"])
            first = 0 if first is None else first
            if plan["start"] > self.today:
                continue
            if plan["completed_on"] is not None:
                last = self.week_index(plan["completed_on"])
                if last is None:
                    continue
            elif plan["stalled"]:
                last = s.weeks - self.rng.randint(2, 4)
            else:
                last = s.weeks
            slots += [(w, p) for w in range(first, last + 1)]
        return slots

    def reports_create(self):
        s = self.scale
        slots = sorted(self.report_slots())
        if len(slots) > s.reports:
            # Reporting in the system began later for some: drop the oldest weeks first.
            slots = slots[len(slots) - s.reports :]
        corrections = s.reports - len(slots)
        past = [slot for slot in slots if slot[0] < s.weeks]
        if corrections > len(past):
            raise ValueError("Too few report slots for this scale.")
        corrected = set(self.rng.sample(past, corrections)) if corrections > 0 else set()
        by_plan = {}
        for w, p in slots:
            by_plan.setdefault(p, []).append(w)
        rows = []
        written = 0

        def flush(force=False):
            nonlocal rows, written
            if rows and (force or len(rows) >= BATCH):
                with historic_timestamps(ProgressReport):
                    ProgressReport.objects.bulk_create(rows, batch_size=BATCH)
                written += len(rows)
                rows = []

        latest = {}
        for p, weeks in by_plan.items():
            plan = self.measure_plans[p]
            measure = plan["measure"]
            liaison, head = self.liaison_of[measure.owner_unit_id], self.head_of[measure.owner_unit_id]
            previous_text = None
            for n, w in enumerate(weeks, start=1):
                iso_year, iso_week = iso_week_of(self.mondays[w])
                percent = round(plan["percent"] * n / len(weeks))
                text = previous_text if previous_text and self.rng.random() < 0.05 else self.rng.choice(PROGRESS_TEXTS)
                previous_text = text
                cutoff = _at(self.mondays[w] + datetime.timedelta(days=3), 17)
                submitted = cutoff - datetime.timedelta(hours=self.rng.randint(1, 30))
                if w == s.weeks:
                    state = self.rng.choices(
                        [
                            ProgressReport.State.DRAFT,
                            ProgressReport.State.SUBMITTED,
                            ProgressReport.State.CONFIRMED,
                            ProgressReport.State.RETURNED,
                        ],
                        weights=[40, 35, 15, 10],
                    )[0]
                    submitted = min(submitted, self.now - datetime.timedelta(minutes=30))
                else:
                    state = (
                        ProgressReport.State.RETURNED if self.rng.random() < 0.01 else ProgressReport.State.CONFIRMED
                    )
                draft = state == ProgressReport.State.DRAFT
                versions = [1, 2] if (w, p) in corrected else [1]
                for version in versions:
                    rows.append(
                        ProgressReport(
                            measure=measure,
                            iso_year=iso_year,
                            iso_week=iso_week,
                            version=version,
                            state=state,
                            progress_this_week=text,
                            cumulative_state=plan["progress"] if n == len(weeks) else ProgressState.IN_PROGRESS,
                            percent=percent,
                            next_week_plan="继续按整改方案推进，做好佐证材料收集。",
                            difficulties="部分资金清退涉及多个部门，需牵头领导协调。"
                            if self.rng.random() < 0.02
                            else "",
                            correction_reason="更正本周完成百分比。" if version > 1 else "",
                            return_reason="进展描述过于笼统，请补充具体数据。"
                            if state == ProgressReport.State.RETURNED
                            else "",
                            is_late=self.rng.random() < 0.08,
                            filled_by_id=liaison,
                            submitted_at=None if draft else submitted,
                            confirmed_by_id=head if state == ProgressReport.State.CONFIRMED else None,
                            confirmed_at=submitted + datetime.timedelta(hours=3)
                            if state == ProgressReport.State.CONFIRMED
                            else None,
                            created_at=submitted - datetime.timedelta(hours=2),
                            updated_at=submitted,
                        )
                    )
                if not draft:
                    latest[p] = (text, submitted)
                flush()
        flush(force=True)
        # The measure carries its latest report, as report_submit leaves it.
        changed = []
        for p, (text, submitted) in latest.items():
            measure = self.measure_plans[p]["measure"]
            measure.latest_progress = text
            measure.last_reported_at = submitted
            changed.append(measure)
        Measure.objects.bulk_update(changed, ["latest_progress", "last_reported_at"], batch_size=BATCH)
        self.counts["reports"] = written
        # Difficulties raised in a report become coordination items; the old ones were answered.
        items = []
        recent = self.now - datetime.timedelta(days=21)
        for report_id, measure_id, text, created in (
            ProgressReport.objects.filter(measure__problem__round__in=self.rounds)
            .exclude(difficulties="")
            .exclude(state=ProgressReport.State.DRAFT)
            .values_list("pk", "measure_id", "difficulties", "created_at")
        ):
            resolved = created < recent
            items.append(
                CoordinationItem(
                    measure_id=measure_id,
                    report_id=report_id,
                    text=text,
                    state=CoordinationItem.State.RESOLVED if resolved else CoordinationItem.State.OPEN,
                    resolution="已召开协调会明确分工。" if resolved else "",
                    created_at=created,
                    resolved_at=created + datetime.timedelta(days=5) if resolved else None,
                )
            )
        with historic_timestamps(CoordinationItem):
            _bulk(CoordinationItem, items)
        self.counts["coordination_items"] = len(items)

    # -- evidence --

    def evidence_create(self):
        s = self.scale
        folder = settings.PRIVATE_MEDIA_ROOT / "evidence" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        originals = []
        for k in range(s.evidence_files):
            content = PDF_HEAD + f"% bench evidence {k}\n".encode() + b"%%EOF\n"
            path = folder / f"original-{k}.pdf"
            path.write_bytes(content)
            originals.append((path, len(content), hashlib.sha256(content).hexdigest()))
        reports = list(
            ProgressReport.objects.filter(measure__problem__round__in=self.rounds)
            .exclude(state=ProgressReport.State.DRAFT)
            .values_list("pk", "measure_id", "submitted_at", "filled_by_id")
        )
        done_milestones = [m for m in self.milestones if m.done_on is not None]
        rows = []
        for i in range(s.evidence):
            path, size, digest = originals[i % len(originals)]
            kind = self.rng.choice(Evidence.Kind.values)
            if reports and (i % 10 != 0 or not done_milestones):
                report_id, measure_id, submitted, uploader = self.rng.choice(reports)
                milestone, when = None, submitted - datetime.timedelta(hours=1)
            else:
                milestone = self.rng.choice(done_milestones)
                report_id, measure_id = None, milestone.measure_id
                uploader = self.liaison_of[self.measures_by_id()[measure_id].owner_unit_id]
                when = _at(milestone.done_on, 15)
            stored = f"bench/{uuid.UUID(int=self.rng.getrandbits(128)).hex}.pdf"
            link = settings.PRIVATE_MEDIA_ROOT / "evidence" / stored
            if not link.exists():
                os.link(path, link)
            rows.append(
                Evidence(
                    measure_id=measure_id,
                    report_id=report_id,
                    milestone=milestone,
                    kind=kind,
                    original_name=f"{Evidence.Kind(kind).label}{i}.pdf",
                    stored_name=stored,
                    content_type="application/pdf",
                    size=size,
                    sha256=digest,
                    uploaded_by_id=uploader,
                    uploaded_at=when,
                )
            )
        with historic_timestamps(Evidence):
            _bulk(Evidence, rows)
        self.counts["evidence"] = len(rows)

    def measures_by_id(self):
        if not hasattr(self, "_measures_by_id"):
            self._measures_by_id = {m.pk: m for m in self.measures}
        return self._measures_by_id

    # -- the weekly cycle --

    def cycles_create(self):
        """A done cycle per round and past week, its frozen snapshot, the last weeks' missed reports
        and the supervision notices of overdue measures."""
        s = self.scale
        cycles = []
        for inspection_round in self.rounds:
            for w in range(s.weeks):
                iso_year, iso_week = iso_week_of(self.mondays[w])
                cycles.append(
                    WeeklyCycle(
                        round=inspection_round,
                        iso_year=iso_year,
                        iso_week=iso_week,
                        dispatch_state=StepState.DONE,
                        remind_eve_state=StepState.DONE,
                        remind_day_state=StepState.DONE,
                        collect_state=StepState.DONE,
                        summary_state=StepState.DONE,
                        created_at=_at(self.mondays[w], 8, 30),
                    )
                )
        with historic_timestamps(WeeklyCycle):
            cycles = _bulk(WeeklyCycle, cycles)
        cycle_of = {(c.round_id, c.iso_year, c.iso_week): c for c in cycles}
        last_year, last_week = iso_week_of(self.mondays[s.weeks - 1])
        snapshots = []
        for inspection_round in self.rounds:
            figures = round_week_figures(
                inspection_round=inspection_round, iso_year=last_year, iso_week=last_week, today=self.today
            )
            closed = figures["measures"]["closed"]
            for w in range(s.weeks):
                iso_year, iso_week = iso_week_of(self.mondays[w])
                week_figures = dict(figures)
                week_figures["week"] = week_key(iso_year, iso_week)
                week_figures["measures"] = {**figures["measures"], "closed": round(closed * (w + 1) / s.weeks)}
                snapshots.append(
                    WeeklySnapshot(
                        cycle=cycle_of[(inspection_round.pk, iso_year, iso_week)],
                        figures=week_figures,
                        created_at=_at(self.mondays[w] + datetime.timedelta(days=4), 18),
                        **WeeklySnapshot.headline(week_figures),
                    )
                )
        with historic_timestamps(WeeklySnapshot):
            _bulk(WeeklySnapshot, snapshots)
        self.counts["snapshots"] = len(snapshots)

        # 未报 in the last two past weeks: open, started measures without a submitted report.
        missed = []
        for w in (s.weeks - 2, s.weeks - 1):
            if w < 0:
                continue
            iso_year, iso_week = iso_week_of(self.mondays[w])
            reported = set(
                ProgressReport.objects.filter(iso_year=iso_year, iso_week=iso_week)
                .exclude(state=ProgressReport.State.DRAFT)
                .values_list("measure_id", flat=True)
            )
            for plan in self.measure_plans:
                measure = plan["measure"]
                if plan["completed_on"] is None and plan["start"] <= self.mondays[w] and measure.pk not in reported:
                    cycle = cycle_of[(plan["problem"].round_id, iso_year, iso_week)]
                    missed.append(
                        MissedReport(
                            cycle=cycle,
                            unit_id=measure.owner_unit_id,
                            measure=measure,
                            created_at=_at(self.mondays[w] + datetime.timedelta(days=3), 17),
                        )
                    )
        with historic_timestamps(MissedReport):
            _bulk(MissedReport, missed)
        self.counts["missed_reports"] = len(missed)

        # 督办单 for overdue measures: most were issued a week after the due date; some answered.
        notices = []
        for plan in self.measure_plans:
            if plan["completed_on"] is not None or plan["due"] >= self.today or self.rng.random() < 0.3:
                continue
            issued = max(self.mondays[0], min(self.mondays[s.weeks - 1], plan["due"] + datetime.timedelta(days=7)))
            iso_year, iso_week = iso_week_of(issued)
            answered = self.rng.random() < 0.4
            measure = plan["measure"]
            notices.append(
                SupervisionNotice(
                    cycle=cycle_of[(plan["problem"].round_id, iso_year, iso_week)],
                    unit_id=measure.owner_unit_id,
                    measure=measure,
                    text=f"措施 {measure.code} 已超过完成时限，请书面答复整改进展、逾期原因和完成时间。",
                    reply_due=issued + datetime.timedelta(days=5),
                    state=SupervisionNotice.State.ANSWERED if answered else SupervisionNotice.State.OPEN,
                    reply="已制定补救计划，预计两周内完成。" if answered else "",
                    replied_by_id=self.liaison_of[measure.owner_unit_id] if answered else None,
                    replied_at=_at(issued + datetime.timedelta(days=2), 11) if answered else None,
                    created_at=_at(issued, 9),
                )
            )
        with historic_timestamps(SupervisionNotice):
            _bulk(SupervisionNotice, notices)
        self.counts["supervision_notices"] = len(notices)

    def notifications_create(self):
        rows = []
        kinds = Notification.Kind.values
        for user in self.users:
            for k in range(self.scale.notifications_per_user):
                created = self.now - datetime.timedelta(days=self.rng.randint(0, 7 * self.scale.weeks), minutes=k)
                rows.append(
                    Notification(
                        recipient=user,
                        kind=self.rng.choice(kinds),
                        text=f"第{self.rng.randint(1, 52)}周调度单：请按时报送整改进展。",
                        link="/unit/",
                        dedup_key=f"bench:{k}",
                        created_at=created,
                        read_at=None if self.rng.random() < 0.1 else created + datetime.timedelta(hours=4),
                    )
                )
                if len(rows) >= BATCH:
                    with historic_timestamps(Notification):
                        _bulk(Notification, rows)
                    self.counts["notifications"] = self.counts.get("notifications", 0) + len(rows)
                    rows = []
        with historic_timestamps(Notification):
            _bulk(Notification, rows)
        self.counts["notifications"] = self.counts.get("notifications", 0) + len(rows)

    # -- permissions --

    def assignments(self):
        measures_of = {}
        for plan in self.measure_plans:
            measures_of.setdefault(plan["problem"].pk, []).append((plan["measure"].pk, plan["owner"].pk))
        for problem, plan in zip(self.problems, self.problem_plans, strict=True):
            yield ProblemAssignment(
                problem_id=problem.pk,
                lead_unit_id=problem.lead_unit_id,
                lead_official_id=problem.lead_official_id,
                responsible_unit_ids=[unit.pk for unit in plan["responsible"]],
                responsible_leader_ids=[user.pk for user in plan["leaders"]],
                measures=measures_of.get(problem.pk, []),
            )


def city_build(*, scale=CITY, seed=20261126, today=None):
    """Build the city in one transaction; returns the row counts written. Refuses a non-empty database."""
    if InspectionRound.objects.exists() or Unit.objects.exists():
        raise ValueError("The city is built into an empty database only (run migrate on a new one).")
    today = today or timezone.localdate()
    with transaction.atomic():
        counts = _CityBuilder(scale=scale, seed=seed, today=today).build()
    if connection.vendor == "postgresql":
        # Fresh tables have no statistics until autovacuum comes by; plans would be guesses.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"scale": asdict(scale), "seed": seed, "today": today.isoformat(), **counts}
