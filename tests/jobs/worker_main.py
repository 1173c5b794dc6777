"""A job worker in its own process, for the fault tests: the real app built from the JSON
in ``INSYN_TEST_CONFIG`` and the real worker loop. ``INSYN_TEST_TASKS`` names test
modules whose jobs it must know; ``INSYN_TEST_PERIODIC=1`` runs the scheduler too, and
``INSYN_TEST_FAST_SCHEDULER=1`` makes it check the periodic jobs every second."""

from __future__ import annotations

import importlib
import json
import os

from portal import create_app
from portal.jobs.worker import WorkerConsumer, run_worker
from tests.fixtures_jobs import FastScheduler

app = create_app(json.loads(os.environ["INSYN_TEST_CONFIG"]))
for module in filter(None, os.environ.get("INSYN_TEST_TASKS", "").split(",")):
    importlib.import_module(module)
if os.environ.get("INSYN_TEST_FAST_SCHEDULER") == "1":
    WorkerConsumer.scheduler_class = FastScheduler
run_worker(
    app,
    workers=int(os.environ.get("INSYN_TEST_WORKERS", "2")),
    periodic=os.environ.get("INSYN_TEST_PERIODIC") == "1",
)
