"""Words for numbers and lists, the one place the app, the CLI and the importer agree on them.

"1 row", "2 rows", "1 row has errors", "3 rows have errors", "Item name, Category and Quantity": every message
that counts something or lists names goes through here, so that none reads "1 rows rejected" again. English only;
a noun whose plural is not the regular one is given with its plural (``count_of(n, "entry", "entries")``).
"""

from __future__ import annotations

from collections.abc import Iterable


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """The word for ``n`` things: ``singular`` for exactly one, else ``plural_form`` (default: the regular plural).

    Also for verbs that agree with a count: ``plural(n, "has", "have")``, ``plural(n, "was", "were")``.
    """
    if n == 1:
        return singular
    return plural_form if plural_form is not None else regular_plural(singular)


def regular_plural(word: str) -> str:
    """The regular English plural of the last word of ``word``: row -> rows, entry -> entries, box -> boxes."""
    lower = word.lower()
    if lower.endswith("y") and len(word) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def count_of(n: int, singular: str, plural_form: str | None = None) -> str:
    """``n`` with its noun, thousands separated: "1 row", "0 rows", "1,234 items"."""
    return f"{n:,} {plural(n, singular, plural_form)}"


def listing(names: Iterable[str], conjunction: str = "and") -> str:
    """Names as a sentence lists them: "a", "a and b", "a, b and c"."""
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
