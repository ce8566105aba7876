"""Dagster's default run launcher, able to tell the run monitor when a run's process has died.

Dagster's ``DefaultRunLauncher`` starts each run in a process of the code server but cannot say later
whether that process is still alive, so a run killed with its process stays STARTED forever and holds
its pool slots. The process that runs a run is the one that wrote its RUN_START event, whether the
launcher started it or a command ran it in process (``recon run``, ``dagster asset materialize``):
this launcher reports a run whose process is gone as failed, so the daemon's run monitoring marks it
failed and frees its slots. Runs and the daemon share one machine on the local instance this is for.
"""

from __future__ import annotations

import psutil
from dagster import DagsterEventType, DagsterRun
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus


class LocalRunLauncher(DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        started = self._instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
        pid = started[-1].dagster_event.pid if started and started[-1].dagster_event else None
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run has not recorded its process yet")
        try:
            process = psutil.Process(pid)
            # a process started after the run did is another one that was given the same pid
            alive = process.create_time() <= started[-1].timestamp + 1 and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            alive = False
        if alive:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process {pid} is gone (killed or crashed)")
