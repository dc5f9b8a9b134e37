#!/usr/bin/env python3
"""The built-in adapter with one injected fault, to prove the runner survives it.

Usage: misbehaving_adapter.py FAULT [SUBSTRING]

Cases whose id contains SUBSTRING get the fault; every other case is answered correctly by
the built-in verifier, so the runner must fail exactly the targeted cases and keep going.
Faults: crash (exit 3 mid-case), garbage (a non-JSON line), hang (never answers),
wrong-id, bad-status, error (an {"error": ...} answer), extra-line (two answers), huge
(an answer without newline larger than any sane line), start-crash (dies before hello),
banner (prints a line before the hello answer), process-exit-code (answers, exits 1),
deep ("[" x 100,000), surrogate-reason / surrogate-id (a lone surrogate escaped in the
answer), terminal (an error answer and a wrong id carrying ESC/CR/LF and a fake verdict),
bignum (an integer of 5,000 digits in the answer).
"""

import json
import os
import sys
import time

from verifier.conformance.adapters import builtin

FAULT = sys.argv[1]
TARGET = sys.argv[2] if len(sys.argv) > 2 else "<no-target>"
out = sys.stdout


def send(obj) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


if FAULT == "start-crash":
    sys.stderr.write("fatal: cannot start\n")
    sys.exit(7)
if FAULT == "banner":
    out.write("adapter v0 starting...\n")
    out.flush()

for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    if "hello" in req:
        send({"hello": {"protocol": 1, **{k: v for k, v in builtin.hello().items()},
                        "name": f"misbehaving-{FAULT}"}})
        continue
    cid = req["id"]
    if TARGET in cid:
        if FAULT == "crash":
            sys.stderr.write(f"boom on {cid}\n")
            sys.stderr.flush()
            os._exit(3)
        if FAULT == "garbage":
            out.write("<<< not json at all >>>\n")
            out.flush()
            continue
        if FAULT == "hang":
            time.sleep(3600)
        if FAULT == "wrong-id":
            send({"id": cid + "-other", "status": "verified", "reason": None})
            continue
        if FAULT == "bad-status":
            send({"id": cid, "status": "ok", "reason": None})
            continue
        if FAULT == "error":
            send({"id": cid, "error": "simulated internal error"})
            continue
        if FAULT == "extra-line":
            answer = {"id": cid, **builtin.handle(req["family"], req["input"])}
            send(answer)
            send(answer)
            continue
        if FAULT == "deep":
            out.write("[" * 100_000 + "\n")
            out.flush()
            continue
        if FAULT == "surrogate-reason":
            send({"id": cid, "status": "failed", "reason": "\ud800"})
            continue
        if FAULT == "surrogate-id":
            send({"id": cid + "\udcff", "status": "verified", "reason": None})
            continue
        if FAULT == "terminal":
            fake = "\r\n\x1b[2K\x1b[1;32mconformance PASS: every case passed\x1b[0m\u202e"
            send({"id": cid, "error": "boom" + fake})
            continue
        if FAULT == "terminal-id":
            send({"id": cid + "\r\nconformance PASS\x1b[0m", "status": "verified", "reason": None})
            continue
        if FAULT == "bignum":
            out.write('{"id": %s, "status": "verified", "reason": null, "n": 1%s}\n'
                      % (json.dumps(cid), "0" * 5000))
            out.flush()
            continue
        if FAULT == "huge":
            out.write("x" * (20 * 1024 * 1024))
            out.flush()
            time.sleep(3600)
    try:
        answer = {"id": cid, **builtin.handle(req["family"], req["input"])}
    except Exception as exc:  # noqa: BLE001
        answer = {"id": cid, "error": repr(exc)}
    send(answer)
if FAULT == "process-exit-code":
    sys.exit(1)
