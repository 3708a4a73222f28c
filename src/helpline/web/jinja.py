"""Jinja2 for the hottest fragments: the rows of ticket tables and the queue tree.

Django's template language resolves every ``{{ t.title }}`` through a chain of
look-ups at render time; a 25-row queue view spent about 12 ms of its ~34 ms of CPU
in the table's loop (issue 20).  Jinja2 compiles a template to Python once, and the
same rows render in a fraction of that.  Only fragments rendered once per row or node
live here (``web/jinja2/``); the pages stay Django templates and include a fragment
through ``{% jinja %}`` (``templatetags/helpline_jinja.py``).

Translations are Django's own (gettext of the active language): a fragment's
messages are in the same catalogue as the pages'.  ``makemessages`` reads Django
templates and Python, not Jinja2, so the fragments' messages are listed below.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.template import Library, engines
from django.utils import dateformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import get_language, gettext, gettext_noop, ngettext
from jinja2 import Environment

from helpline import local_format

# The messages of the fragments in web/jinja2/, for makemessages.
MESSAGES = (
    gettext_noop("Select ticket %(number)s"),
    gettext_noop("locked"),
    gettext_noop("new"),
    gettext_noop("open"),
)


def _date(value: datetime | None, fmt: str = "SHORT_DATETIME_FORMAT") -> str:
    """Django's ``date`` filter: the value in the current time zone, in ``fmt`` (a
    format of the active language such as SHORT_DATETIME_FORMAT, or a fixed one)."""
    if value is None:
        return ""
    value = local_format.local(value)
    if fmt.endswith("_FORMAT"):
        return local_format.formatted(value, fmt)
    return dateformat.format(value, fmt)


@lru_cache(maxsize=4096)
def _translated(language: str | None, value: str) -> str:
    return gettext(value)


def translate_value(value: object) -> str:
    """A value from the database translated as it is (a state's name, a priority's
    label): no %-formatting, as ``{% translate value %}``; remembered per language
    (a page of 25 rows asks for the same few names again and again)."""
    return _translated(get_language(), str(value))


def _timesince(value: datetime | None) -> str:
    return timesince(value) if value is not None else ""


def environment(**options: Any) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], **options)  # noqa: S701 - the backend sets autoescape
    # New-style gettext: ``_("Select ticket %(number)s", number=n)``, the same msgid
    # as Django's {% blocktranslate %} with a variable ``number``.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["translate_value"] = translate_value
    env.filters["date"] = _date
    env.filters["timesince"] = _timesince
    return env


# ``{% load jinja %}{% jinja "helpline/ticket_rows.html" rows=rows queue=queue %}``
# in a Django template: the fragment rendered with exactly the values named.
register = Library()


@register.simple_tag
def jinja(name: str, **values: Any) -> SafeString:
    # Jinja2 escaped every value as it rendered (autoescape), so the result is safe.
    return mark_safe(engines["jinja2"].get_template(name).render(values))  # noqa: S308
