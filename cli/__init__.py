"""The `distrosync` command: demo, local server and operator commands."""
