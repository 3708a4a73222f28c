"""Model fields of our own (few: prefer Django's)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models


class _KnownDatabaseDefault:
    """A column added with a constant database default (``db_default=Value(...)``)
    and nullable, so that the column is added without rewriting its table
    (docs/upgrading.md, rule 5), but never null: a new instance carries the
    default at once, not an expression Django resolves only when it saves (forms,
    the administration and code reading an unsaved object see the value)."""

    def get_default(self) -> Any:
        db_default = getattr(self, "db_default", models.NOT_PROVIDED)
        if not self.has_default() and isinstance(db_default, models.Value):  # type: ignore[attr-defined]
            return db_default.value
        return super().get_default()  # type: ignore[misc]


class DefaultedBooleanField(_KnownDatabaseDefault, models.BooleanField):
    """Never null, so a form shows a checkbox, not "Unknown / Yes / No"."""

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("form_class", forms.BooleanField)
        kwargs.setdefault("initial", self.get_default())
        return super().formfield(**kwargs)


class DefaultedCharField(_KnownDatabaseDefault, models.CharField):
    pass
