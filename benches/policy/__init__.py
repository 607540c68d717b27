"""The policy: what a build's manifest says about an analysis, and what that means.

- ``findings``: a Finding (one thing the policy forbids, with its evidence) and its kinds;
- ``verdict``: a Verdict, its Outcome (pass, fail, inconclusive), findings and reasons;
- ``evaluation``: ``evaluate``, the fail-closed rules from an analysis to a verdict;
- ``judge``: a finished cycle's pcap through the analyzer and the policy;
- ``enforcement``: what a verdict does to its sign-off test (InconclusiveCycle);
- ``decision``: GO, NO-GO or NO-GO (inconclusive) for a build, from its cycles' verdicts.

It reads no files: the caller hands it the analysis, the capture health and the policy.
"""
