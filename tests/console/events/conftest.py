"""Event tests share the web process of the SDK compatibility tests (module-scoped)."""

from tests.apimethods.test_client_compat import server  # noqa: F401 - a fixture, used by name
