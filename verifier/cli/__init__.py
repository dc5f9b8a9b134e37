"""Command-line interface. Each command lives in its own module exposing `register()`."""
