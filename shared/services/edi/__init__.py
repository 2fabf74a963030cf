"""The EDI gateway's use cases (docs/edi.md, "Gateway"): inbound files to the flows (`gateway`, with
`inbound_dispatch`), outbound documents and the acknowledgments they wait for."""
