"""Inbound partner formats read into canonical objects (X12 EDI in `x12/`; the webhook platforms of #3-#5 live in
`shared/adapters/` beside it)."""
