"""The canonical model: one envelope for every business event, typed data per event type."""
