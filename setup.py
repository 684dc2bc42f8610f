"""Build hook for the one compiled module, civicmash.analysis._fastroute (the safe route's search engine).

Everything else about the package is in pyproject.toml. The extension is optional: where no C compiler is found the
install goes on without it and the route planner uses its scipy searches (the same answers, slower);
`civicmash route --format json` says which engine answered. In a working tree: `python setup.py build_ext --inplace`.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "civicmash.analysis._fastroute", ["analysis/_fastroute.c"],
    # -ffp-contract=off: no fused multiply-adds, so weights and sums are the IEEE results numpy computes
    extra_compile_args=["-O2", "-ffp-contract=off", "-fno-strict-aliasing"],
    optional=True,
)])
