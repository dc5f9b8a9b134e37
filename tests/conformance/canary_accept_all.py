#!/usr/bin/env python3
"""A deliberately broken implementation: it claims every family and accepts everything.

It speaks spec/conformance.md correctly (stdlib only, no import of `verifier`), so every
failure the runner reports for it is a verdict failure: the runner must fail it on every
vector that must be rejected.
"""

import json
import sys

FAMILIES = ["jcs", "envelope", "merkle", "agent_proof", "evidence", "chain", "data_item", "receipt",
            "audit_bundle"]

for line in sys.stdin:
    if not line.strip():
        continue
    request = json.loads(line)
    if "hello" in request:
        answer = {"hello": {"protocol": 1, "name": "canary-accept-all", "version": "0",
                            "families": FAMILIES, "capabilities": []}}
    else:
        answer = {"id": request["id"], "status": "verified", "reason": None}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
