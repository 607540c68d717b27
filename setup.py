"""The one compiled part: the pcap record walk (benches/analysis/pcap/_records.c).

Everything else is in pyproject.toml. The extension is optional: without a C
compiler the install still succeeds and pcapread.py walks records in Python
(the same records, only slower; docs/architecture.md, "The record walk in C").
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "benches.analysis.pcap._records",
            sources=["benches/analysis/pcap/_records.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
