"""Fields of our own (helpline.models.fields) behave as their docstrings say."""

from __future__ import annotations

from django import forms
from django.apps import apps

from helpline.models.fields import DefaultedBooleanField


def test_every_defaulted_boolean_is_a_checkbox_in_forms():
    """Nullable only to be added in place, never null: a form (the administration's
    queue form, for one) shows a checkbox, not "Unknown / Yes / No"."""
    found = [
        field
        for model in apps.get_app_config("helpline").get_models()
        for field in model._meta.get_fields()
        if isinstance(field, DefaultedBooleanField)
    ]
    assert len(found) >= 3
    for field in found:
        formfield = field.formfield()
        assert type(formfield) is forms.BooleanField, field
        assert formfield.required is False, field
        assert formfield.initial is field.db_default.value, field
