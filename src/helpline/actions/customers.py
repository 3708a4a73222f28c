"""Customers: the email identities tickets belong to."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from helpline.errors import InvalidInput
from helpline.models import Customer


def get_or_create_customer(email: str, name: str = "") -> Customer | None:
    """The customer with this address (lower-cased), created on first contact."""
    email = email.strip().lower()
    if not email:
        return None
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(f"{email!r} is not an email address.") from exc
    customer = Customer.objects.filter(email=email).first()
    if customer is not None:
        if name and not customer.name:
            customer.name = name[:200]
            customer.save(update_fields=["name"])
        return customer
    try:
        with transaction.atomic():
            return Customer.objects.create(email=email, name=name[:200])
    except IntegrityError:
        return Customer.objects.get(email=email)
