"""Customers: the email identities tickets belong to."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

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
    customer = Customer(email=email, name=name[:200])
    # Created concurrently meanwhile: the conflict returns that row's id (one
    # statement, no savepoint).
    Customer.objects.bulk_create(
        [customer],
        update_conflicts=True,
        unique_fields=["email"],
        update_fields=["email"],
    )
    if customer.pk is None:  # a database that cannot return ids from an upsert
        return Customer.objects.get(email=email)
    return customer
