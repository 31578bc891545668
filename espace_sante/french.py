"""French elision, in one place: « de » and « le » become « d' » and « l' » before a vowel
or a mute h, and « de le » contracts to « du ».

Every phrase built around a name or a noun goes through these helpers (the `de` and `le`
template filters of `labels`), so no page prints « l'accès de Élodie Roux ».
"""

_ELIDING = frozenset("aeiouyhàâäéèêëîïôöûüùœæ")


def elides(word: str) -> bool:
    """Whether « de »/« le » elide before `word` (a vowel or an h, treated as mute)."""
    first = str(word).lstrip()[:1].lower()
    return bool(first) and first in _ELIDING


def le(noun: str, *, feminine: bool = False) -> str:
    """The definite article before `noun`: « l'assuré », « le compte », « la carte »."""
    noun = str(noun)
    if elides(noun):
        return f"l'{noun}"
    return f"{'la' if feminine else 'le'} {noun}"


def de(name: str) -> str:
    """« de » before `name`: « d'Élodie Roux », « de Marc Lefebvre », « du Dr Bernard »,
    « du compte », « des assurés », « de l'assuré »."""
    name = str(name)
    if name.startswith("Dr "):
        return f"du {name}"
    # « de le » and « de les » contract, whatever the article's case (a document « Le bilan »).
    if name[:3].lower() == "le ":
        return f"du {name[3:]}"
    if name[:4].lower() == "les ":
        return f"des {name[4:]}"
    return f"d'{name}" if elides(name) else f"de {name}"
