"""The OpenAPI document as committed in docs/openapi.json (``helpline api-schema``)."""

from __future__ import annotations

import json

from helpline.api.urls import api

# Where the site mounts the API (helpline.web.urls); the document's paths start here.
MOUNT = "/api/v1/"


def document() -> str:
    """The OpenAPI 3 document as stable, diff-friendly text."""
    schema = api.get_openapi_schema(path_prefix=MOUNT)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
