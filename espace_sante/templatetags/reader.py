"""`{% reader_words space as words %}`: the words of a space's pages for who reads them."""

from django import template

from espace_sante import labels

register = template.Library()


@register.simple_tag(takes_context=True)
def reader_words(context, space) -> dict[str, str]:
    return labels.reader_words(space, context.get("user"))
