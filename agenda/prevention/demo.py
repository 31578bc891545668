"""The prevention demo data (idempotent).

- Camille (born 12 April 1985): the dTP booster of her profile (2019) did the one of 25,
  the one of 45 is to plan (April 2030); she says her last HPV test was on 5 October 2021,
  so the next one is due;
- Nathalie (born 1 June 1974, 52): her last mammography was on 20 November 2024, so the
  breast screening is due again, and the colorectal test, never done, is overdue;
- Léo (born 3 June 2015): the child examination of 11 to 13 years is due, and the HPV and
  meningococcus ACWY vaccines of 11 to 14.
"""

from datetime import date

from agenda.models import PreventionMark
from agenda.prevention import services
from espace_sante.tracing import Actor

MARKS = [
    ("camille", "depistage-col-hpv", date(2021, 10, 5)),
    ("nathalie", "depistage-sein", date(2024, 11, 20)),
]


def load(spaces, pros):
    system = Actor.system()
    for key, code, day in MARKS:
        space = spaces.get(key)
        if space is None:
            continue
        if PreventionMark.objects.filter(space=space, rule_code=code, done_on=day).exists():
            continue
        holder = space.holder
        services.mark_done(
            space=space, code=code, day=day, by=system, decision=None, user=holder.user
        )
