"""HTTP concerns shared by API handlers: RFC 7807 problems and request signing."""
