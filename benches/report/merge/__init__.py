"""Many benches, one answer: ``bench merge DIR...`` joins several benches' sign-off results
into one Allure report and one GO / NO-GO per build. Use
``benches.report.merge.writer.write_merge``.
"""
