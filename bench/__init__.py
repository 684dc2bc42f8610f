"""Benchmarks: each measures our implementation against a named peer in the same run.

Run all with ``make bench`` (``python -m bench``) or one with ``python -m bench <name>``.
Results go to ``bench/results/<name>.json`` and are summarised in ``docs/benchmarks.md``.
"""
