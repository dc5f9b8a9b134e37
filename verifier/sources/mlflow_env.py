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

#: Environment switches honoured by the installed MLflow (mlflow/telemetry/utils.py,
#: environment_variables.py): MLFLOW_DISABLE_TELEMETRY (MLflow's own), DO_NOT_TRACK (the
#: cross-tool convention); _MLFLOW_TESTING_TELEMETRY would turn telemetry back on whatever
#: the others say, and the Databricks SDK pre-warm is part of the telemetry client.
PHONE_HOME_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "_MLFLOW_TESTING_TELEMETRY": "false",
    "_MLFLOW_TELEMETRY_PRE_WARM_DATABRICKS_SDK": "false",
}


def disable_mlflow_phone_home() -> None:
    """Set every known MLflow telemetry switch to off in this process's environment."""
    os.environ.update(PHONE_HOME_OFF)


_LOCAL_SCHEMES = ("", "file", "sqlite")
_LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def remote_host(uri: str, tracking_uri: str | None = None) -> str | None:
    """The internet host reading `uri` would contact, or None when it stays on this machine
    (a local path or file/sqlite URI, or a loopback host). ``mlflow-artifacts:`` locations
    are served by the tracking server, so they are as remote as `tracking_uri`."""
    import ipaddress
    from urllib.parse import urlparse

    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in _LOCAL_SCHEMES or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return None  # a path (a Windows drive letter parses as a scheme)
    if scheme == "mlflow-artifacts" and not parsed.hostname:
        return remote_host(tracking_uri) if tracking_uri else "the tracking server"
    host = parsed.hostname
    if not host:
        return uri.split(":", 1)[0] + ":"  # databricks, uc, ... : somewhere on the network
    if host.lower() in _LOOPBACK_NAMES:
        return None
    try:
        return None if ipaddress.ip_address(host).is_loopback else host
    except ValueError:
        return host
