"""Pure business logic: no AWS, no HTTP. Takes and returns models."""
