"""`{% jinja "name.html" %}`: render a Jinja2 template (espace_sante/jinja.py) in place,
with the Django template's current context (its variables, the request)."""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

from espace_sante.jinja import as_django_escapes

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja(context, name: str, **extra):
    """The Jinja2 template `name`, rendered with this context and `extra` on top."""
    values = context.flatten()
    values.update(extra)
    html = as_django_escapes(engines["jinja2"].get_template(name).template.render(values))
    return mark_safe(html)  # noqa: S308 (Jinja2 autoescapes every value: espace_sante/jinja.py)
