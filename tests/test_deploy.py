"""The deployment files (issue 21): docker-compose.yml validates, the Dockerfile has the required shape,
deploy/haproxy.cfg is valid. No Docker daemon is needed (none runs in CI): the image build is documented."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from jmmctap.resources import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
HAPROXY_CFG = PROJECT_ROOT / "deploy" / "haproxy.cfg"

SERVICES = {"primary", "replica", "init", "tap-a", "tap-b", "worker", "haproxy"}
"""The topology: PostgreSQL primary and streaming replica, the one-shot init, two front-ends, a worker, HAProxy."""

needs_compose = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                   reason="needs docker-compose (Debian package docker-compose, 1.29.2)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as docker-compose resolves it (anchors merged, paths absolute)."""
    if shutil.which("docker-compose") is None:
        pytest.skip("needs docker-compose (Debian package docker-compose, 1.29.2)")
    result = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config"], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, check=False)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert isinstance(resolved, dict)
    return resolved


@needs_compose
def test_the_compose_file_has_the_topology_with_health_checks_and_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name in SERVICES - {"init"}:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in ("primary", "replica"):
        assert f"{name}:/var/lib/postgresql/data:rw" in services[name]["volumes"], name
    assert set(compose["volumes"]) >= {"primary", "replica", "products"}


@needs_compose
def test_async_results_need_no_shared_disk(compose: dict[str, Any]) -> None:
    for name in ("tap-a", "tap-b", "worker"):
        service = compose["services"][name]
        assert service["environment"]["JMMCTAP_RESULTS_STORE"] == "database", name
        assert not any("results" in str(v) for v in service.get("volumes", [])), name


@needs_compose
def test_front_ends_read_from_the_replica_and_write_to_the_primary(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("tap-a", "tap-b", "worker"):
        env = services[name]["environment"]
        assert "host=primary" in env["JMMCTAP_DSN"] and env["JMMCTAP_QUERY_DSNS"] == "host=replica dbname=jmmctap"
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["replica"]["entrypoint"] == ["/usr/local/bin/replica-entrypoint.sh"]
    assert any(v.endswith(":/usr/local/etc/haproxy/haproxy.cfg:ro") for v in services["haproxy"]["volumes"])


def test_the_dockerfile_is_multi_stage_non_root_and_installs_nothing_at_start_up() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE)
    assert [(image, name) for image, name in stages] == [("debian:12-slim", "builder"), ("debian:12-slim", "runtime")]
    runtime = text.split("AS runtime", 1)[1]
    assert "COPY --from=builder" in runtime and "-c constraints.txt" in text.split("AS runtime", 1)[0]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    entry = re.search(r"^ENTRYPOINT\s+(.+)$", runtime, re.MULTILINE)
    assert entry is not None and '"jmmctap"' in entry.group(1)
    starts = " ".join(re.findall(r"^(?:ENTRYPOINT|CMD)\s+(.+)$", runtime, re.MULTILINE))
    assert not re.search(r"apt-get|pip|curl|wget", starts)  # no network when a container starts
    assert "build-essential" not in runtime  # no compiler in the image


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs haproxy (Debian package haproxy)")
def test_the_haproxy_configuration_is_valid() -> None:
    result = subprocess.run(["haproxy", "-c", "-f", str(HAPROXY_CFG)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "option httpchk GET /health/ready" in HAPROXY_CFG.read_text()
