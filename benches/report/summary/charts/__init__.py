"""The sign-off's pictures, as standalone SVG: where a build's traffic went (traffic.py),
and when, on a cycle's timeline (timeline.py); svg.py writes the elements."""
