"""The sign-off summary: ``reports/signoff/<build>/`` with the GO / NO-GO page, its JSON,
the charts and the evidence pack. Use ``benches.report.summary.writer.write_summary``.
"""
