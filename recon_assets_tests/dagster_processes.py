"""Dagster's long-running roles as real subprocesses on loopback: code server, webserver, daemon.

Every process writes its output to a log file under the instance home; ``stop`` terminates them all
(and their children), also when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from recon_assets_tests.services import free_port

BIN = Path(sys.executable).parent


class DagsterProcesses:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = {**os.environ, **env, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        self.processes: dict[str, subprocess.Popen] = {}
        self.groups: set[int] = set()  # process groups to clean up, also of processes already stopped
        self.webserver_url = ""

    def start(self, role: str, command: list[str]) -> subprocess.Popen:
        log = (self.home / f"{role}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter's entry points
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.home, start_new_session=True
        )
        self.processes[role] = process
        self.groups.add(process.pid)
        return process

    def start_code_server(self, port: int) -> None:
        self.start("code-server", [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(port),
                                   "-m", "recon_assets.definitions"])  # fmt: skip
        wait_until(
            lambda: (
                subprocess.run(  # noqa: S603
                    [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)], capture_output=True
                ).returncode
                == 0
            ),
            timeout=120,
            what="the code server's gRPC health check",
            process=self.processes["code-server"],
        )

    def start_webserver(self, workspace: Path) -> str:
        port = free_port()
        self.webserver_url = f"http://127.0.0.1:{port}"
        self.start("webserver", [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
                                 "-w", str(workspace)])  # fmt: skip
        wait_until(self._webserver_up, timeout=120, what="the webserver", process=self.processes["webserver"])
        return self.webserver_url

    def start_daemon(self, workspace: Path) -> None:
        self.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)])

    def stop(self, role: str) -> None:
        """Stop one role as an operator would: SIGTERM to the process alone, which shuts down cleanly
        (a daemon's code server lets its in-flight runs finish)."""
        process = self.processes.pop(role)
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop_all(self) -> None:
        """Terminate every process started, and anything they started, whatever state a test left."""
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.processes.clear()

    def log(self, role: str) -> str:
        path = self.home / f"{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(
            f"{self.webserver_url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        assert response.status_code == 200, f"GraphQL answered {response.status_code}: {response.text[:2000]}"
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def _webserver_up(self) -> bool:
        try:
            return requests.get(f"{self.webserver_url}/server_info", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.5,
    process: subprocess.Popen | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN_STATUS = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status tags { key value } }
  }
}
"""

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
