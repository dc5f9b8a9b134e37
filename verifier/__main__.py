"""`python -m verifier` runs the CLI."""

from verifier.cli.main import main

raise SystemExit(main())
