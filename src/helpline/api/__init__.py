"""The REST API (``/api/v1/``): a JSON face on the domain actions, described by OpenAPI.

``urls.api`` is the Django Ninja application; docs/api.md is the guide and
docs/openapi.json the contract (``helpline api-schema`` writes it).
"""
