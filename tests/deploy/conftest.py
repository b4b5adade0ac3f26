"""Fixtures of the operator tests (kmock cluster, real vigil server, real registry) reused by the chart tests, and
an image with a CRITICAL vulnerability and an exposed secret pushed to the private registry."""

from __future__ import annotations

import pytest

from tests.deploy.images import critical_image
from tests.deploy.scenario import Pushed
from tests.k8s.conftest import images, manifest_digest  # noqa: F401 — fixture
from tests.operator.conftest import op_cluster, vigil_server  # noqa: F401 — fixtures
from tests.registry_helpers import Registry, push, registry_basic_fixture  # noqa: F401 — the session fixture


@pytest.fixture(scope="session")
def critical(registry_basic: Registry, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """The image with a CRITICAL vulnerability and an exposed secret, in the private registry."""
    archive = critical_image(tmp_path_factory.mktemp("critical") / "critical.docker.tar")
    host = registry_basic.host
    push(archive, f"{host}/shop/critical:1", creds=registry_basic.creds, format="v2s2")
    return Pushed(ref=f"{host}/shop/critical:1",
                  image_id=f"{host}/shop/critical@{manifest_digest(registry_basic, 'shop/critical', '1')}")
