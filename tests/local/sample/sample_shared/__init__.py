"""A stand-in for the project's layer: read at import, like `shared.settings`."""
