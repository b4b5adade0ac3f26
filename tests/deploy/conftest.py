"""Fixtures of the operator tests (kmock cluster, real vigil server, real registry), reused by the chart tests."""

from tests.operator.conftest import op_cluster, vigil_server  # noqa: F401 — fixtures
from tests.k8s.conftest import images  # noqa: F401 — fixture
from tests.registry_helpers import registry_basic_fixture  # noqa: F401 — the session fixture
