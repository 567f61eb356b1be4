"""``{% export_formats as formats %}``: (name, title) of every registered export format, for the Export card."""

from django import template

from backend.exports.formats import FORMATS

register = template.Library()


@register.simple_tag
def export_formats() -> list[tuple[str, str]]:
    return [(fmt.name, fmt.label) for fmt in FORMATS.values()]
