"""`{% query_with name=value … %}`: this page's query string with some parameters changed,
and those given an empty value removed (the filters kept across the pages of a list)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    query = context["request"].GET.copy()
    for name, value in changes.items():
        if value in (None, ""):
            query.pop(name, None)
        else:
            query[name] = value
    return query.urlencode()


@register.filter
def page_numbers(page) -> list[int | None]:
    """The page numbers a pagination shows: the first, the last, two on each side of the
    current one, None for each gap. Worked out in Python, not by looping in the
    template over every page of a long list."""
    numbers = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return [number if isinstance(number, int) else None for number in numbers]
