"""taplint with credentials: an authenticated client sees a service as valid as an anonymous one does.

The anonymous run is tests/test_taplint.py. Here taplint goes through a proxy that adds the user's
Basic credentials (``tests/support/authproxy.py``) to a server whose public URL is that proxy.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest

from jmmctap.settings import Settings
from tests.conftest import free_port, server_env, server_output, spawn_server, stop_server
from tests.support.accounts import TestAccount
from tests.support.authproxy import credentials_proxy
from tests.test_taplint import TAPLINT_STAGES, report_lines, run_taplint


@pytest.mark.slow
@pytest.mark.usefixtures("testdata")
def test_taplint_reports_no_error_for_an_authenticated_user(
    settings: Settings, make_account: Callable[..., TestAccount]
) -> None:
    account = make_account()
    basic = "Basic " + base64.b64encode(f"{account.name}:{account.password}".encode()).decode()
    port = free_port()
    with credentials_proxy(port, basic) as proxy_port:
        env = server_env(settings) | {"JMMCTAP_PUBLIC_URL": f"http://127.0.0.1:{proxy_port}"}
        process = spawn_server(env, port)
        try:
            report = run_taplint(f"http://127.0.0.1:{proxy_port}/tap", TAPLINT_STAGES)
            log = server_output(process)
        finally:
            stop_server(process)
    errors = report_lines(report, "ERROR")
    for line in report_lines(report, "WARNING") + report_lines(report, "FAILURE"):
        print(line)
    assert not errors, "taplint errors:\n" + "\n".join(errors)
    ran = {section["code"] for section in report.get("sections", [])}
    assert set(TAPLINT_STAGES) <= ran
    users = re.findall(r"path=(/tap/\S*) status=\d+ .*? user=(\S+)", log)
    assert {"/tap/sync", "/tap/async"} <= {path for path, _ in users}
    assert {user for path, user in users if path != "/health"} == {account.name}  # taplint ran as the user
