from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import access as accounts_access
from accounts.ui import computed_once as _once

from . import access, counters
from .selectors import menu_counts, pending_closeout_count, unread_notification_count

# What a role sees first in the menu, in this order; the rest follows in the usual order. Unit
# staff come first: a liaison who is also a leader works the unit's week most days.
PRIMARY = {
    "unit": ["worklist", "report_week", "unit_claims", "notice_list", "closeout_pending"],
    "leader": ["leader", "closeout_pending", "coordination_list", "dashboard", "problem_list"],
}


# The chapter of the manual that explains a page, where it is not the reader's own role's chapter.
PAGE_CHAPTERS = {
    "led_reports": "03-lead-unit",
    "problem_decompose": "03-lead-unit",
    "problem_battle_map": "03-lead-unit",
    "measure_closeout_apply": "02-unit-head",
    "problem_closeout_apply": "02-unit-head",
    "leader": "04-leader",
    "problem_records": "06-supervision",
    "round_list": "05-office",
    "round_setup": "05-office",
    "cycle_list": "05-office",
    "cycle_detail": "05-office",
    "penalty_list": "05-office",
    "calendar_years": "05-office",
    "calendar_year": "05-office",
    "deliveries": "05-office",
}


def help_url(request, user):
    """The manual's chapter for the page being shown (the reader's own role's chapter by default)."""
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match is not None else ""
    chapter = PAGE_CHAPTERS.get(name) or accounts_access.manual_chapter(user)
    if name in {"help_index", "help_chapter"} or not chapter:
        return reverse("rectification:help_index")
    return reverse("rectification:help_chapter", args=[chapter])


# The first-week guide of each role (by its chapter of the manual): what to do this week, each step
# linking to the menu entry where it is done. A step whose entry this person's menu lacks is left out.
GUIDES = {
    "01-liaison": [
        ("worklist", gettext_lazy("在“本单位工作台”看本单位的任务和红、黄、灰灯，先办亮灯的事项。")),
        ("unit_claims", gettext_lazy("在“待认领”逐项认领新分派的任务，填写经办人；不属于本单位的提出异议。")),
        (
            "report_week",
            gettext_lazy("每周五前在“周报填报”逐项填写本周进展、下周计划，上传佐证材料后提交单位负责人确认。"),
        ),
        ("notice_list", gettext_lazy("收到“督办单”的，在期限内答复。")),
    ],
    "02-unit-head": [
        ("report_week", gettext_lazy("在“周报填报”核对联络员提交的本周进展，逐项确认或写明原因退回。")),
        ("worklist", gettext_lazy("措施完成后，在措施页面承诺属实并申请销号。")),
        ("notice_list", gettext_lazy("督促联络员按期答复“督办单”。")),
        ("closeout_pending", gettext_lazy("本单位是牵头单位的，在“待我审核”审核责任单位的销号申请。")),
    ],
    "04-leader": [
        ("leader", gettext_lazy("在“我的牵头事项”看需要关注的红、黄、灰灯措施。")),
        ("closeout_pending", gettext_lazy("在“待我审核”签批销号申请。")),
        ("coordination_list", gettext_lazy("在“协调事项”答复责任单位提请协调的困难。")),
    ],
    "05-office": [
        ("cycle_list", gettext_lazy("在“周工作循环”查看本周调度、催报和小结是否按时完成。")),
        ("closeout_pending", gettext_lazy("在“待我审核”按“三个标准”核验销号申请。")),
        ("penalty_list", gettext_lazy("在“通报扣分”确认或撤销系统生成的通报和扣分。")),
        ("notice_list", gettext_lazy("在“督办单”查看各单位的答复。")),
    ],
    "06-supervision": [
        ("problem_list", gettext_lazy("在“问题清单”查看全部事项，录入追责问责记录。")),
        ("coordination_list", gettext_lazy("在“协调事项”了解各单位提请协调的困难。")),
    ],
    "07-provincial": [
        (
            "release_list",
            gettext_lazy("在“报送省巡视组”查看区里报送的每周数字，下载每周报送材料和整改情况报告定稿。"),
        ),
    ],
}


def first_week_guide(user, menu):
    """The guide for this person's role, unless put away: [(url, text)] or None."""
    chapter = accounts_access.manual_chapter(user)
    if chapter not in GUIDES or chapter in user.guides_dismissed:
        return None
    urls = {entry["name"]: entry["url"] for entry in menu}
    steps = [(urls[name], text) for name, text in GUIDES[chapter] if name in urls]
    return {"chapter": chapter, "steps": steps} if steps else None


def bell(request):
    """The unread count for the bell, the count of close-outs waiting for this person, and the
    main menu, built from the access module's predicates."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # The badges' generations, read in one query (with the page's own, if it keeps any) by the first
    # badge a page draws; each badge is then served from this process's cache unless a write since
    # changed what it counts.
    generations = counters.of_request(request)
    menu = main_menu(user, generations)
    return {
        "unread_count": _once(
            lambda: generations.cached(
                "unread",
                user.pk,
                (counters.ACCESS, counters.NOTIFY, counters.user_scope(user.pk)),
                lambda: unread_notification_count(user=user),
            )
        ),
        "shows_pending": access.reviews_anything(user),
        "pending_count": _once(
            lambda: generations.cached(
                "pending",
                user.pk,
                (counters.ACCESS, counters.CLOSEOUT),
                lambda: pending_closeout_count(user=user),
            )
        ),
        "shows_dashboard": access.may_view_dashboard(user),
        "is_leader": access.may_view_leader_page(user),
        "shows_calendar": access.may_manage_calendar(user),
        "shows_secretary_events": not access.reads_released_only(user),
        "menu": menu,
        "help_url": help_url(request, user),
        "first_week_guide": first_week_guide(user, menu),
    }


def _entry(name, label, badge=None, query=""):
    view = f"rectification:{name}"
    return {"name": name, "label": label, "url": reverse(view) + query, "badge": badge, "view": view}


def main_menu(user, generations):
    """The entries of the main menu: each one there because the access module says this person may
    open it; for unit staff and leaders their few daily pages first (``primary``), the rest after.
    The counts (待认领, 督办单, 待我审核) are computed only when the menu is drawn, and each equals the
    length of the list its link opens; they are cached under the generations of what they count
    (``rectification.counters``), so a page costs one small query for them, not a count."""
    unit_staff = access.is_unit_staff(user)
    office = access.is_office(user)
    sees_findings = accounts_access.navigation(user)["sees_findings"]
    unit = user.unit if unit_staff else None
    counts = _once(
        lambda: generations.cached(
            "menu",
            (user.pk, unit.pk if unit else None),
            (counters.ACCESS, counters.NOTICES, counters.CLAIMS),
            lambda: menu_counts(user=user, unit=unit),
        )
    )
    entries = []
    if not access.home_is_worklist(user):
        entries.append(_entry("home", _("首页")))
    if unit_staff:
        entries += [
            _entry("worklist", _("本单位工作台")),
            _entry("report_week", _("周报填报")),
            _entry("led_reports", _("牵头事项进展")),
            _entry("unit_claims", _("待认领"), lambda: counts()["claims"]),
            _entry("unit_dispatch", _("调度单")),
        ]
    if unit_staff or office:
        entries.append(_entry("notice_list", _("督办单"), lambda: counts()["notices"], "?state=open"))
    if access.may_view_dashboard(user):
        entries.append(_entry("dashboard", _("总览")))
    if access.may_view_leader_page(user):
        entries.append(_entry("leader", _("我的牵头事项")))
    if office:
        entries += [
            _entry("round_list", _("轮次设置")),
            _entry("cycle_list", _("周工作循环")),
            _entry("penalty_list", _("通报扣分")),
        ]
    if access.may_read_round_records(user):
        entries.append(_entry("records_index", _("工作记录")))
    if access.may_view_releases(user):
        entries.append(_entry("release_list", _("报送省巡视组")))
    if access.may_manage_calendar(user):
        entries.append(_entry("calendar_years", _("节假日安排")))
    if sees_findings:
        entries += [
            _entry("problem_list", _("问题清单")),
        ]
    if access.may_view_battle_board(user):
        entries += [_entry("battle_board", _("挂图作战")), _entry("campaign_list", _("专项整治"))]
    if sees_findings:
        entries += [
            _entry("coordination_list", _("协调事项")),
            _entry("excel:index", _("报表导出")),
        ]
    if access.reviews_anything(user):
        # Its number is the context's ``pending_count``, which the pending list itself sets to its length.
        entries.append({**_entry("closeout_pending", _("待我审核")), "pending_badge": True})
    if office:
        entries.append({"name": "admin", "label": _("数据维护"), "url": reverse("admin:index"), "badge": None})
    if accounts_access.may_manage_accounts(user):
        entries.append(
            {"name": "users", "label": _("用户管理"), "url": reverse("accounts:system_users"), "badge": None}
        )
    if access.may_bind_pending_names(user):
        entries.append(_entry("pending_bind", _("待开通绑定")))
    if accounts_access.may_set_up_channels(user):
        entries.append(_entry("channel_setup", _("通知渠道")))
    if accounts_access.may_manage_security(user):
        entries.append(
            {"name": "security", "label": _("安全管理"), "url": reverse("accounts:security_lockouts"), "badge": None}
        )
    if accounts_access.may_read_audit_log(user):
        entries.append({"name": "audit", "label": _("审计日志"), "url": reverse("accounts:audit_log"), "badge": None})
    # The gate every page passes (``access.may_open_page``): no entry for a page that would refuse.
    entries = [entry for entry in entries if access.may_open_page(user, entry.get("view", ""))]
    return _ordered(
        entries, PRIMARY["unit"] if unit_staff else PRIMARY["leader"] if access.may_view_leader_page(user) else []
    )


def _ordered(entries, primary):
    """``primary`` entries first in that order, marked so; the others after, as they came."""
    by_name = {entry["name"]: entry for entry in entries}
    first = [by_name[name] for name in primary if name in by_name]
    for entry in entries:
        entry["primary"] = not primary or entry in first
    return first + [entry for entry in entries if entry not in first]
