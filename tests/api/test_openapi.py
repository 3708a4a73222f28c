"""The OpenAPI document: served, committed in docs/openapi.json, and complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from django.urls import resolve

from helpline.api import schemas
from helpline.api.openapi import MOUNT, document
from helpline.models import ArticleChannel, Permission, SenderType, StateType
from tests.api.conftest import PREFIX

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "helpline api-schema -o docs/openapi.json"


def test_the_committed_document_is_the_current_one():
    assert COMMITTED.read_text(encoding="utf-8") == document(), (
        f"docs/openapi.json is stale: run '{REGENERATE}' and commit it."
    )


@pytest.mark.django_db
def test_the_server_serves_the_committed_document(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_the_site_mounts_the_api_where_the_document_says(settings):
    settings.ROOT_URLCONF = "helpline.web.urls"
    assert f"{PREFIX}/" == MOUNT
    match = resolve(f"{PREFIX}/tickets/2024010110000016")
    assert match.namespace == "helpline-api"


def test_every_operation_documents_its_errors_and_needs_authentication():
    schema = json.loads(document())
    operations = [
        (path, method, op)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    ]
    assert len(operations) == 47
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert {"401", "422", "429"} <= set(op["responses"]), where
        assert op["security"], where
        assert op["operationId"].isidentifier(), where
        if "requestBody" in op:
            assert "413" in op["responses"], where
        if "{number}" in path:
            assert "404" in op["responses"], where
    ids = [op["operationId"] for _, _, op in operations]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("literal", "choices"),
    [
        (schemas.StateTypeName, StateType),
        (schemas.ChannelName, ArticleChannel),
        (schemas.SenderName, SenderType),
        (schemas.PermissionName, Permission),
    ],
)
def test_the_schema_enumerations_are_the_models_choices(literal, choices):
    assert set(get_args(literal)) == set(choices.values)
