from functools import lru_cache

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

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
