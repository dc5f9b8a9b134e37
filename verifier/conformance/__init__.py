"""Conformance runner: drive any verifier implementation through the spec's vectors.

See spec/conformance.md for the wire protocol and docs/conformance.md for usage. Modules:
`model` (cases and results), `corpus` / `peer` (loading our vectors and the ar-io-proof
corpus), `runner` (subprocess sessions, comparison), `expected` (expected-failures files),
`report` (table, JUnit XML, JSON) and `adapters/` (implementations speaking the protocol).
"""
