"""Benchmark scripts: run them as modules (``python -m benchmarks.topk``).

They are scripts, not timed tests: results are written under
``benchmarks/results/`` with the machine and library versions that produced them.
"""
