"""The sign-off summary: ``reports/signoff/<build>/`` with the GO / NO-GO page, its JSON,
the charts and the evidence pack.

Kept free of imports so that ``benches.report`` can use the charts without pulling
in the writer (which needs ``benches.allure_meta``, which needs ``benches.report``).
Use ``benches.summary.writer.write_summary``.
"""
