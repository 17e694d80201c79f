"""What the codes of the audit log mean, in Chinese: action names, object types and change fields.

The rows keep short English codes (``system.password_reset``, ``accounts.user``); the audit
administrator reads Chinese. Each app registers the codes it writes: ``accounts`` its own below,
``rectification`` its own from its ``AppConfig.ready`` (``accounts`` never names it). A code no
one registered (an old row, an action since renamed) is shown as the code itself.

A test walks the source for every action the code can write and fails on one without a label.
"""

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured

SYSTEM = "系统"
# How the search's list of actions is grouped, in this order (groups not listed come last).
GROUP_ORDER = ("登录与账号", "三员管理", "整改业务", "导入导出", "系统任务", "数据维护")


@dataclass(frozen=True)
class ActionInfo:
    label: str
    group: str
    # Each change is ``[before, after]`` (an update), rather than a value (a creation, a request).
    paired: bool = False
    # Who the row shows as operator when it has none (a task, a command, a failed login).
    without_actor: str = SYSTEM


_actions: dict[str, ActionInfo] = {}
_groups: list[str] = []
_object_types: dict[str, str] = {}
_fields: dict[str, str] = {}
_values: dict[str, dict[str, str]] = {}


def _register(registry, code, value):
    if registry.get(code, value) != value:
        raise ImproperlyConfigured(f"Audit code {code!r} registered twice with different meanings.")
    registry[code] = value


def register_actions(group, labels, *, paired=(), without_actor=None):
    """Name actions: ``labels`` maps each code to its Chinese name, shown under ``group`` in the
    search's list. ``paired`` are the codes whose changes are ``[before, after]``; ``without_actor``
    maps codes to who the row names as operator when it has none (``系统`` otherwise)."""
    without_actor = without_actor or {}
    unknown = (set(paired) | set(without_actor)) - set(labels)
    if unknown:
        raise ImproperlyConfigured(f"Audit codes without a label: {sorted(unknown)}")
    if group not in _groups:
        _groups.append(group)
    for code, label in labels.items():
        info = ActionInfo(str(label), str(group), code in paired, str(without_actor.get(code, SYSTEM)))
        _register(_actions, code, info)


def register_object_types(labels):
    """Name object types (``app_label.model_name``, as ``AuditEvent.target_type`` holds them)."""
    for code, label in labels.items():
        _register(_object_types, code, str(label))


def register_fields(labels):
    """Name change keys that are not a field of the object's model (or read better otherwise)."""
    for key, label in labels.items():
        _register(_fields, key, str(label))


def register_values(key, labels):
    """Name the coded values of one change key that no model field's choices name."""
    for value, label in labels.items():
        _register(_values.setdefault(key, {}), value, str(label))


def register_admin_models(models):
    """The office's data maintenance (Django admin) writes ``admin.<model>.add`` / ``.change``."""
    for model in models:
        name = model._meta.verbose_name
        register_actions(
            "数据维护",
            {
                f"admin.{model._meta.model_name}.add": f"数据维护：新增{name}",
                f"admin.{model._meta.model_name}.change": f"数据维护：修改{name}",
            },
        )


# --- reading --------------------------------------------------------------------------------------


def action_info(code):
    return _actions.get(code)


def action_label(code):
    info = _actions.get(code)
    return info.label if info else code


def labelled_actions():
    return dict(_actions)


def action_choices():
    """The search's list of actions: (group, [(code, label), ...]) in the order registered."""
    order = {group: index for index, group in enumerate(GROUP_ORDER)}
    groups = sorted(_groups, key=lambda group: order.get(group, len(order)))
    return [(group, [(code, info.label) for code, info in _actions.items() if info.group == group]) for group in groups]


def actions_named(text):
    """The codes whose Chinese name contains ``text`` (a keyword search by name)."""
    return [code for code, info in _actions.items() if text and text in info.label]


def _model(target_type):
    try:
        return apps.get_model(target_type)
    except (LookupError, ValueError):
        return None


def object_type_label(code):
    if code in _object_types:
        return _object_types[code]
    model = _model(code) if code else None
    return str(model._meta.verbose_name) if model is not None else code


def _model_field(target_type, key):
    model = _model(target_type) if target_type else None
    if model is None or not isinstance(key, str):
        return None
    try:
        field = model._meta.get_field(key)
    except FieldDoesNotExist:
        return None
    return field if hasattr(field, "verbose_name") else None


def field_label(target_type, key):
    """A change key's name: the object's model field's, else the registered one, else the key."""
    field = _model_field(target_type, key)
    if field is not None:
        return str(field.verbose_name)
    return _fields.get(key, str(key))


def value_label(target_type, key, value):
    """A coded value's name, from the model field's choices or the values registered for the key."""
    if key == "action":
        return action_label(value)
    if key == "fields":
        return field_label(target_type, value)
    field = _model_field(target_type, key)
    if field is not None and field.choices:
        names = {str(code): str(name) for code, name in field.flatchoices}
        if value in names:
            return names[value]
    return _values.get(key, {}).get(value, value)


# --- what accounts writes ---------------------------------------------------------------------------

register_actions(
    "登录与账号",
    {
        "auth.login": "登录",
        "auth.login_failed": "登录失败",
        "auth.logout": "退出登录",
        "auth.password_change": "修改本人密码",
        "auth.password_change_failed": "修改本人密码失败",
        "auth.self_unlock": "本人解除锁定",
        "auth.totp_enrol": "启用动态口令",
        "auth.totp_enrol_failed": "启用动态口令失败",
    },
    without_actor={"auth.login_failed": "未登录的访问者"},
)
register_actions(
    "三员管理",
    {
        "user.create": "新建账号",
        "user.move_unit": "调整账号所在单位",
        "user.channels_set": "设置本人的通知渠道和免打扰时段",
        "system.contact_set": "设置手机号码与企业微信账号",
        "unit.create": "新建单位",
        "system.user_activate": "启用账号",
        "system.user_deactivate": "停用账号",
        "system.password_reset": "重置密码",
        "security.roles_change": "调整角色",
        "security.unlock": "解除锁定",
        "security.totp_reset": "重置动态口令",
        "approval.request": "提交审批",
        "approval.approve": "批准",
        "approval.reject": "驳回",
        "approval.withdraw": "撤回审批",
        "approval.approve_refused": "批准未生效（申请已过时）",
        "audit.search": "查询审计日志",
        "audit.export": "导出审计日志",
        "audit.verify": "校验审计日志完整性",
        "audit.anchor": "锚定审计日志链头",
        "audit.anchor_download": "下载审计日志链头锚点",
        "audit.rekey": "审计日志哈希链改为带密钥",
    },
    paired={
        "user.move_unit",
        "user.channels_set",
        "system.contact_set",
        "system.user_activate",
        "system.user_deactivate",
        "security.roles_change",
    },
)
register_object_types(
    {
        "accounts.user": "账号",
        "accounts.unit": "单位",
        "accounts.auditevent": "审计日志",
    }
)
register_fields(
    {
        "username": "用户名",
        "reason": "原因",
        "locked": "已锁定",
        "second_factor": "使用动态口令",
        "roles": "角色",
        "unit": "单位",
        "name": "名称",
        "attempts_removed": "清除的失败记录",
        "filters": "查询条件",
        "page": "页码",
        "format": "格式",
        "rows": "条数",
        "checked": "已校验条数",
        "broken_at": "断裂位置（编号）",
        "fields": "修改的字段",
        "values": "修改的值",
        "from": "原值",
        "to": "新值",
        "q": "关键词",
        "actor": "操作人用户名",
        "outcome": "结果",
        "ip": "来源地址",
        "date_from": "起始日期",
        "date_to": "截止日期",
        "sha256": "文件摘要（SHA-256）",
        "size": "文件大小（字节）",
        "file": "文件",
        "files": "所含文件",
    }
)
register_values(
    "reason",
    {
        "password": "密码错误",
        "totp": "动态口令错误",
        "self_unlock": "自助解锁验证失败",
        "password_change": "修改密码时原密码错误",
        "reconfirm": "再次确认密码错误",
        "closeout_password": "销号签批密码错误",
        "user": "本人退出",
        "idle": "长时间未操作，自动退出",
        "absolute": "登录时间到期，自动退出",
    },
)
register_values("format", {"csv": "CSV", "xlsx": "Excel"})
register_values("outcome", {"success": "成功", "failure": "失败"})
