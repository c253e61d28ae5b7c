"""The end-to-end tests' fixtures (the platform as separate processes) live in tests/platform_fixtures.py,
registered once in tests/conftest.py so that tests/e2e and tests/web share one platform."""

from tests.platform_fixtures import SCIM_TOKEN

__all__ = ["SCIM_TOKEN"]
