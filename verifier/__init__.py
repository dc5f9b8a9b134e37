"""ario-verifier: offline verification of ar.io provenance proofs.

`import verifier` is cheap and pulls in no network, MLflow, TUI or PDF library. The pure
kernel lives in `verifier.core`; sources, audit, CLI, TUI and report layers sit on top.
"""

__version__ = "0.1.0"
