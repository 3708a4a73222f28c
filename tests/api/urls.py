"""The API alone, mounted where the site mounts it: the API tests do not depend on
the agent interface's URL map (test_openapi checks the site mounts it there too)."""

from django.urls import path

from helpline.api.urls import api

urlpatterns = [path("api/v1/", api.urls)]
