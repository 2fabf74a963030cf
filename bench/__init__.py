"""`make bench`: cold imports, events/s per core with AWS stubbed, AWS requests per business event on moto.

`python -m bench` runs every part in fresh child processes (one per measurement, so imports, caches and
patches never leak between them), prints one table and writes `bench/results.json`.
"""
