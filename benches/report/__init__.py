"""What people read after a run, made of the verdicts: nothing here judges.

- ``verdict_log``: one JSON line per judged cycle, and the one reader of it (a torn
  last line, as a killed run leaves, is left out);
- ``cycle_entry``: what a verdict-log line keeps about a cycle for the summary;
- ``provenance``: the framework's version and commit, named in every report;
- ``allure/``: the Allure side: labels and attachments, run files, the HTML rendering;
- ``summary/``: the sign-off summary, ``reports/signoff/<build>/``: GO / NO-GO page,
  its JSON, charts and evidence pack.
"""
