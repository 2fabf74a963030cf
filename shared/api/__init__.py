"""The HTTP edge: request gate (key, size, signature, media type), routes, problem rendering, OpenAPI."""
