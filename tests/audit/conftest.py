"""Fixtures for the audit tests: one real local gateway (its receipt key signs the receipts)
and one signed model lineage built by hand (audit_factory)."""

from __future__ import annotations

import pytest

from audit_factory import build_lineage
from verifier.audit import AuditPolicy
from verifier.gateway.server import GatewayServer


@pytest.fixture(scope="session")
def gateway():
    gw = GatewayServer().start()
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def lineage(gateway):
    return build_lineage(predictions=3, gateway=gateway)


@pytest.fixture()
def policy(gateway):
    return AuditPolicy(trusted_receipt_signers=frozenset({gateway.signer_address}))


@pytest.fixture(scope="session")
def big_lineage():
    """Enough predictions (4,200) for the engine to use worker processes."""
    return build_lineage(predictions=4200, data_items=False)
