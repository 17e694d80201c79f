"""Leaders and units a ledger import named that have no account yet (待开通).

Who may do what:
- the list and sending it to the system administrators: the office (``may_see_pending_names``);
- what the import remembers (aliases, column mappings) and removing an entry: the office;
- binding a pending unit or leader to an existing one, or opening a pending unit: the system
  administrator (``may_bind_pending_names``). The page shows names and counts, no finding.
Anyone else gets 403; a pending unit or leader that does not exist (or was bound already) 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import NameAlias, Unit
from accounts.ui import error_text
from rectification import access
from rectification.selectors import pending_leaders_listed, pending_units_listed

from ..excel.imports import column_targets
from ..forms import PendingBindForm
from ..models import ImportColumnMapping
from ..services import pending as services


def _require(allowed):
    if not allowed:
        raise PermissionDenied(_("您没有权限访问此页面。"))


def _unit_targets():
    return Unit.objects.filter(is_active=True, is_pending=False).order_by("sort_order", "pk")


def _leader_targets():
    return access.leader_accounts().filter(is_pending=False).order_by("pk")


@login_required
@require_GET
def pending_list(request):
    _require(access.may_see_pending_names(request.user))
    return render(
        request,
        "rectification/pending/list.html",
        {"units": list(pending_units_listed()), "leaders": list(pending_leaders_listed())},
    )


@login_required
@require_GET
def learned(request):
    """What the import remembers: aliases of units and leaders, and column mappings; the office
    removes one that was confirmed by mistake."""
    _require(access.may_see_pending_names(request.user))
    return render(
        request,
        "rectification/pending/learned.html",
        {
            "aliases": NameAlias.objects.select_related("unit", "person", "created_by").order_by("kind", "key"),
            "mappings": ImportColumnMapping.objects.select_related("created_by").order_by("key"),
            "targets": dict(column_targets()),
        },
    )


@login_required
@require_POST
def alias_remove(request, pk):
    alias = access.name_alias_for_user(request.user, pk)
    services.name_alias_remove(actor=request.user, alias=alias)
    messages.success(request, _("已删除别名“%(written)s”。") % {"written": alias.written})
    return redirect("rectification:pending_learned")


@login_required
@require_POST
def mapping_remove(request, pk):
    mapping = access.column_mapping_for_user(request.user, pk)
    services.column_mapping_remove(actor=request.user, mapping=mapping)
    messages.success(request, _("已删除表头“%(header)s”的对应关系。") % {"header": mapping.header})
    return redirect("rectification:pending_learned")


@login_required
@require_POST
def pending_send(request):
    _require(access.may_see_pending_names(request.user))
    try:
        sent = services.pending_send_to_admins(actor=request.user)
    except ValidationError as refused:
        messages.error(request, error_text(refused))
    else:
        if sent:
            messages.success(request, _("已发送给%(n)s位系统管理员。") % {"n": sent})
        else:
            messages.info(request, _("这份名单此前已发送过，系统管理员已收到。"))
    return redirect("rectification:pending_list")


@login_required
@require_GET
def pending_bind(request):
    _require(access.may_bind_pending_names(request.user))
    units = [(unit, PendingBindForm(targets=_unit_targets(), prefix=f"u{unit.pk}")) for unit in pending_units_listed()]
    leaders = [
        (leader, PendingBindForm(targets=_leader_targets(), prefix=f"p{leader.pk}"))
        for leader in pending_leaders_listed()
    ]
    return render(request, "rectification/pending/bind.html", {"units": units, "leaders": leaders})


def _bound(request, form, bind, pending, written):
    if not form.is_valid():
        messages.error(request, _("请选择要绑定到的账号或单位。"))
        return redirect("rectification:pending_bind")
    try:
        target = bind(actor=request.user, pending=pending, target=form.cleaned_data["target"])
    except ValidationError as refused:
        messages.error(request, error_text(refused))
    else:
        messages.success(request, _("已将“%(name)s”绑定到“%(target)s”。") % {"name": written, "target": target})
    return redirect("rectification:pending_bind")


@login_required
@require_POST
def pending_unit_bind(request, pk):
    pending = access.pending_unit_for_user(request.user, pk)
    form = PendingBindForm(request.POST, targets=_unit_targets(), prefix=f"u{pk}")
    return _bound(request, form, services.pending_unit_bind, pending, pending.name)


@login_required
@require_POST
def pending_unit_open(request, pk):
    pending = access.pending_unit_for_user(request.user, pk)
    try:
        services.pending_unit_open(actor=request.user, pending=pending)
    except ValidationError as refused:
        messages.error(request, error_text(refused))
    else:
        messages.success(request, _("已开通单位“%(name)s”，请在“单位和账号”中为其开设账号。") % {"name": pending.name})
    return redirect("rectification:pending_bind")


@login_required
@require_POST
def pending_leader_bind(request, pk):
    pending = access.pending_leader_for_user(request.user, pk)
    form = PendingBindForm(request.POST, targets=_leader_targets(), prefix=f"p{pk}")
    return _bound(request, form, services.pending_leader_bind, pending, pending.full_name)
