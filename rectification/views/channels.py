"""The system administrator's channel pages: each outside channel and the group robots, set up in
the browser; and the office's per-unit view of what was sent, delivered and read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Channel

from .. import access, selectors
from ..forms import ChannelSetupForm, ChannelTestForm, GroupRobotForm
from ..services import channel_setup as setup_services
from ..services.channels import channel_on, deployment_has


def _kind(kind):
    if kind not in Channel.values:
        raise Http404
    return Channel(kind)


def _channel_cards(request, bound=None):
    setups = selectors.channel_setups()
    cards = []
    for kind in Channel:
        setup = setups.get(kind.value)
        form = (
            bound
            if bound is not None and bound.kind == kind
            else ChannelSetupForm(
                kind=kind,
                secrets_set=set(setup.sealed) if setup else set(),
                allowed=deployment_has(kind),
                initial={
                    **(setup.params if setup else {}),
                    "enabled": (setup.enabled if setup else True) and deployment_has(kind),
                },
            )
        )
        cards.append(
            {
                "kind": kind,
                "form": form,
                "setup": setup,
                "allowed": deployment_has(kind),
                "on": channel_on(kind),
                "test_form": ChannelTestForm(prefix=f"test-{kind.value}"),
            }
        )
    return cards


def _page(request, bound=None, status=200):
    return render(
        request,
        "rectification/channel_setup.html",
        {
            "cards": _channel_cards(request, bound),
            "robots": access.group_robots_visible_to(request.user).select_related("unit"),
            "robot_platforms": [(value, label, deployment_has(value)) for value, label in selectors.robot_platforms()],
        },
        status=status,
    )


@login_required
@require_GET
def channel_setup(request):
    access.require_channel_setup(request.user)
    return _page(request)


@login_required
@require_POST
def channel_setup_save(request, kind):
    access.require_channel_setup(request.user)
    kind = _kind(kind)
    setup = selectors.channel_setups().get(kind.value)
    form = ChannelSetupForm(request.POST, kind=kind, secrets_set=set(setup.sealed) if setup else set())
    if not form.is_valid():
        return _page(request, bound=form, status=400)
    setup_services.channel_setup_save(
        actor=request.user,
        kind=kind,
        enabled=form.cleaned_data["enabled"],
        params=form.params(),
        secrets=form.secrets(),
    )
    messages.success(request, _("已保存%(channel)s的设置。") % {"channel": kind.label})
    return redirect("rectification:channel_setup")


@login_required
@require_POST
def channel_test(request, kind):
    access.require_channel_setup(request.user)
    kind = _kind(kind)
    form = ChannelTestForm(request.POST, prefix=f"test-{kind.value}")
    if not form.is_valid():
        messages.error(request, _("请填写接收测试消息的地址（手机号码、平台账号或电子邮箱）。"))
        return redirect("rectification:channel_setup")
    try:
        sent, text = setup_services.channel_test_send(
            actor=request.user, kind=kind, address=form.cleaned_data["address"]
        )
    except ValueError as error:
        sent, text = False, str(error)
    (messages.success if sent else messages.error)(request, text)
    return redirect("rectification:channel_setup")


@login_required
@require_http_methods(["GET", "POST"])
def group_robot_edit(request, pk=None):
    access.require_channel_setup(request.user)
    robot = access.group_robot_for_user(request.user, pk) if pk is not None else None
    initial = (
        {"name": robot.name, "platform": robot.platform, "unit": robot.unit_id, "enabled": robot.enabled}
        if robot
        else {"enabled": True}
    )
    form = GroupRobotForm(request.POST or None, robot=robot, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            setup_services.group_robot_save(actor=request.user, robot=robot, **form.cleaned_data)
        except ValueError as error:
            form.add_error("webhook", str(error))
        else:
            messages.success(request, _("已保存群机器人“%(name)s”。") % {"name": form.cleaned_data["name"]})
            return redirect("rectification:channel_setup")
    return render(request, "rectification/group_robot_edit.html", {"form": form, "robot": robot})


@login_required
@require_POST
def group_robot_delete(request, pk):
    robot = access.group_robot_for_user(request.user, pk)
    setup_services.group_robot_delete(actor=request.user, robot=robot)
    messages.success(request, _("已删除群机器人“%(name)s”。") % {"name": robot.name})
    return redirect("rectification:channel_setup")


@login_required
@require_POST
def group_robot_test(request, pk):
    robot = access.group_robot_for_user(request.user, pk)
    try:
        sent, text = setup_services.robot_test_send(actor=request.user, robot=robot)
    except ValueError as error:
        sent, text = False, str(error)
    (messages.success if sent else messages.error)(request, text)
    return redirect("rectification:channel_setup")


@login_required
@require_GET
def deliveries_by_unit(request):
    """The office's table: per unit, how many messages were sent, delivered, read and failed."""
    if not access.may_view_deliveries(request.user):
        raise Http404
    return render(
        request,
        "rectification/deliveries_by_unit.html",
        {"rows": selectors.delivery_counts_by_unit(user=request.user)},
    )
