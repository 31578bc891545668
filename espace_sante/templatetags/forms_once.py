"""`{% unbound_form "name.html" form %}`: include `name.html`, which shows `form`; while
the form is unbound (a list page opened without filters, most visits) the markup is the
same for everyone, so it is rendered once per process and language and kept.

A filter form of five fields costs Django's form and template machinery a few
milliseconds a page, as much as a whole table of rows (issue 16). The included template
must then depend on nothing but the form and the language: no URL of the page, no user.
"""

from django import template
from django.utils import translation
from django.utils.safestring import mark_safe

register = template.Library()

_copies: dict[tuple[str, type, str], str] = {}


@register.simple_tag(takes_context=True)
def unbound_form(context, name: str, form):
    included = context.template.engine.get_template(name)
    if form.is_bound:
        return included.render(context)
    key = (name, type(form), translation.get_language() or "")
    if key not in _copies:
        _copies[key] = included.render(context)
    return mark_safe(_copies[key])  # noqa: S308 (a Django template's own output, escaped)
