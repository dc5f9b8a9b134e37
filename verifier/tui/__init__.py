"""`ario-verifier browse`: a Textual workbench over the audit stream (docs/architecture.md,
"The audit stream"). Importing this package imports Textual; the CLI does so lazily."""
