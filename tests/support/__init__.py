"""Test-only helpers: the scripted Discord REST stand-in, tool checks (shared with the
benchmarks: tests/support/harness/)."""
