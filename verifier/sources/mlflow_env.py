"""MLflow's phone-home switched off in this process, before MLflow is first imported.

MLflow (3.x) starts a telemetry client on import that resolves and contacts
``config.mlflow-telemetry.io``; an audit, and above all an ``--offline`` one, must open no
internet socket. MLflow reads these switches from the environment, some of them once at
import time, so they are set in ``os.environ`` of this process (and so of its children),
never in the user's shell. Every command that may load MLflow calls
`disable_mlflow_phone_home` first (the CLI entry point does, for all of them).
"""

from __future__ import annotations

import os

#: Environment switches honoured by the installed MLflow (mlflow/telemetry/utils.py):
#: MLFLOW_DISABLE_TELEMETRY (MLflow's own), DO_NOT_TRACK (the cross-tool convention).
PHONE_HOME_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


def disable_mlflow_phone_home() -> None:
    """Set every known MLflow telemetry switch to off in this process's environment."""
    os.environ.update(PHONE_HOME_OFF)
