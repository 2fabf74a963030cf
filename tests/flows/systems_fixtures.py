"""Fixtures for the simulated systems distrosync calls (owner: outbound; see docs/supplier-collaboration.md)."""
