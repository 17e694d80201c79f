from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``{{ counts|get_item:state }}``: look a key up in a dict (templates cannot index by variable)."""
    return mapping.get(key) if mapping else None
