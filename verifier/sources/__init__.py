"""Sources: the only way bytes enter the verifier (gateways, cache, files, MLflow, bundles).

Sources return bytes and parsed data or raise `SourceError`s; they never decide verdicts.
They may import `verifier.core`; nothing in `verifier.core` imports them.
"""
