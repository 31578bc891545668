"""The Jinja2 engine of the hottest markup: the rows of the long tables.

The portal's pages are Django templates. A table of 25 documents or trail entries, though,
costs the Django engine a few hundred tag and variable nodes per page, which was most of a
page's time under load (docs/BENCHMARKS.md, issue 16). Those row templates are Jinja2
(compiled to Python, autoescaped like Django's), under `jinja2/` at the project's root,
where the Django engine never looks, and a Django template includes one with
`{% load jinja %}{% jinja "dossier/_document_rows.html" %}` (espace_sante/templatetags).

The environment offers what those templates need and nothing that reads the database:
`url()` and `url_for_each()` (one reverse for a whole column of links), `choice_labels()`
(a field's choices translated once a table), Django's translations (`_()`, `ngettext()`),
its `date` filter, `iso` and the portal's label filters.
"""

from __future__ import annotations

import uuid

from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.timezone import template_localtime
from django.utils.translation import gettext, ngettext
from jinja2 import Environment

from espace_sante import french, labels

# A UUID that satisfies the `uuid` path converter: replaced by each row's own id.
_EACH = str(uuid.UUID(int=0x4000_8000_0000_0000_0000, version=4))


def url(viewname: str, *args) -> str:
    return reverse(viewname, args=args)


def url_for_each(viewname: str, *args):
    """A function of the last argument giving the URL: reversed once for all the rows."""
    head, _sep, tail = reverse(viewname, args=[*args, _EACH]).partition(_EACH)
    return lambda last: f"{head}{last}{tail}"


def as_django_escapes(html: str) -> str:
    """Jinja2's output with the quotes escaped as Django's `escape` writes them
    (`&#x27;`, `&quot;`): the same bytes as the Django templates the rows replaced. Only
    escaping writes `&#39;` or `&#34;` (a typed `&` became `&amp;`), so one replace over
    the whole output is exact, and far cheaper than Django's escape on each value."""
    return html.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")


def date(value, arg=None) -> str:
    """Django's `date` filter, on the local time as Django's templates give it."""
    return date_filter(template_localtime(value), arg)


def iso(value) -> str:
    """A date, or a datetime in local time, as ISO 8601: `|date("c")` and `|date("Y-m-d")`
    without the formatter."""
    return template_localtime(value).isoformat()


def strftime(value, pattern: str) -> str:
    """A date or datetime, in local time, by a numeric `strftime` pattern: `|strftime(
    "%d/%m/%Y %H:%M")` prints what `|date("d/m/Y H:i")` does, without the formatter."""
    return template_localtime(value).strftime(pattern)


def choice_labels(instance, field: str) -> dict:
    """The labels of a model field's choices, translated once for a whole table: Django's
    `get_FOO_display()` builds and hashes the dict of lazy labels at each call."""
    return {value: str(label) for value, label in instance._meta.get_field(field).flatchoices}


def environment(**options) -> Environment:
    options.pop("autoescape", None)  # always on, whatever the backend passes
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    env.globals.update(url=url, url_for_each=url_for_each, choice_labels=choice_labels)
    env.filters.update(
        date=date,
        iso=iso,
        strftime=strftime,
        action_label=labels.action_label,
        role_label=labels.role_label,
        basis_label=labels.basis_label,
        de=french.de,
        le=french.le,
    )
    return env
