"""The compiled parts: the pcap record walk (benches/analysis/pcap/_records.c) and the
sieve's one-pass needle search (benches/analysis/detection/_needles.c).

Everything else is in pyproject.toml. The extensions are optional: without a C
compiler the install still succeeds, pcapread.py walks records in Python and
detection/needles.py finds needles one bytes.find at a time (the same results,
only slower; docs/architecture.md, "The record walk in C").
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "benches.analysis.pcap._records",
            sources=["benches/analysis/pcap/_records.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "benches.analysis.detection._needles",
            sources=["benches/analysis/detection/_needles.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
