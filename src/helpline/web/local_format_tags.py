"""``{% load local_format %}``: numbers in the agent's language (helpline/local_format.py).

Django's templates already write dates with ``|date:"SHORT_DATETIME_FORMAT"`` in the
active language and time zone, and numbers with the language's decimal separator; a
count or a duration in a report is also grouped (``1.234`` in German) here.  Not
switched on for every number (``USE_THOUSAND_SEPARATOR``): ids in attributes and URLs
must stay plain digits.
"""

from __future__ import annotations

from decimal import Decimal

from django.template import Library

from helpline import local_format

register = Library()


@register.filter
def number(value: int | float | Decimal | str | None) -> str:
    """``value`` grouped and with the language's separators; "" for None, and a text
    (an "–" placeholder) as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return local_format.number(value)
