from functools import lru_cache

from django import template
from django.utils.html import escape, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from .. import workdays

register = template.Library()

_SELECTED = mark_safe(" selected")


@register.filter
def get_item(mapping, key):
    """``{{ counts|get_item:state }}``: look a key up in a dict (templates cannot index by variable)."""
    return mapping.get(key) if mapping else None


@register.simple_tag
def week_label(iso_year, iso_week):
    """``{% week_label cycle.iso_year cycle.iso_week %}``: 2026年第48周."""
    return workdays.week_label(iso_year, iso_week)


@register.simple_tag
def week_short_label(iso_week):
    """``{% week_short_label iso_week %}``: 第48周."""
    return workdays.week_short_label(iso_week)


@register.simple_tag
def options(choices, selected):
    """``{% options choices value %}``: the <option> elements of a select, as Django's Select
    widget writes them, the one whose value is ``selected`` (text, or None) marked.

    For pages with hundreds of selects, where rendering each through the widget templates is
    slow. ``choices`` is a tuple of (value, text) pairs with the labels already translated
    (``plain_choices``): the few distinct lists of options are built once and remembered.
    """
    return _options(choices, selected)


@lru_cache(maxsize=256)
def _options(choices, selected):
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, _SELECTED if str(value) == selected else "", label) for value, label in choices),
    )


def plain_choices(choices):
    """``choices`` for ``{% options %}``: a tuple, its labels translated now."""
    return tuple((value, str(label)) for value, label in choices)


def light_html(light, note=""):
    """A measure's light as every page shows it (``rectification/_light.html`` renders this)."""
    code = escape(light.code)
    html = f'<span class="light-label nowrap" data-light="{code}"><i class="light {code}"></i> {escape(light.label)}'
    if note:
        html += f'<small class="light-note">（{escape(note)}）</small>'
    return html + "</span>"


@register.simple_tag
def light_badge(light, note=""):
    """``{% light_badge light note %}``: see ``light_html``."""
    return mark_safe(light_html(light, note))


def _truncated(text, length):
    """``truncatechars``: a text of at most ``length`` characters is never cut, so the costly
    Truncator (which counts combining characters apart) only sees the longer ones."""
    return text if len(text) <= length else Truncator(text).chars(length)


@register.simple_tag
def worklist_rows(measures, *, several_rounds, measure_url, today):
    """``{% worklist_rows measures ... %}``: the worklist's table rows, written in Python.

    A busy unit has hundreds of rows of nine cells; through the template language each row's
    thirty lookups, filters and the light's include cost more CPU than the rest of the request.
    Every value is escaped; ``tests/test_unit_workflow.py`` compares the rows with those the
    template wrote before (``WORKLIST_ROW_TEMPLATE`` there)."""
    rows = []
    for m in measures:
        problem = m.problem
        round_cell = (
            f'<td data-label="巡视轮次" class="small">{escape(problem.round.title)}</td>' if several_rounds else ""
        )
        if m.progress_state == "completed":
            left = '<span class="muted">已完成</span>'
        elif m.days_left < 0:
            left = f'<span class="late-text">逾期{m.days_overdue}天</span>'
        else:
            left = f"{m.days_left}天"
        behind = ' <span class="tag warn">滞后</span>' if m.behind else ""
        if m.next_milestone_title:
            due = m.next_milestone_due
            late = "late-text" if due < today else "muted"
            milestone = f'{escape(m.next_milestone_title)}<div class="small {late}">{due.month}月{due.day}日</div>'
        else:
            milestone = '<span class="muted">—</span>'
        if m.week_report_state:
            report = (
                f'<span class="state state-{escape(m.week_report_state)}">{escape(m.week_report_state_label)}</span>'
            )
        else:
            report = '<span class="state state-none">未填报</span>'
        rows.append(
            f'<tr><td data-label="预警">{light_html(m.light, m.light_note)}</td>{round_cell}'
            f'<td data-label="编号" class="nowrap">{escape(m.code)}</td>'
            f'<td><a href="{escape(measure_url)}{m.pk}/">{escape(_truncated(m.text, 50))}</a>'
            f'<div class="muted small">牵头领导：{escape(problem.lead_official)}</div></td>'
            f'<td data-label="完成时限" class="nowrap">{m.due_date:%Y-%m-%d}</td>'
            f'<td data-label="剩余" class="nowrap">{left}</td>'
            f'<td data-label="进度" class="nowrap"><progress max="100" value="{m.percent}"></progress> '
            f"{m.percent}% / {m.expected}%{behind}</td>"
            f'<td data-label="下一节点">{milestone}</td>'
            f'<td data-label="本周周报" class="nowrap">{report}</td></tr>'
        )
    return mark_safe("\n".join(rows))
