"""The ``bench`` command (also ``python -m benches``): ``main`` parses and dispatches,
each subcommand lives in its own module (``analyze``, ``signoff``, ``discover``,
``report``), and ``exits`` says how a command ends (CommandError, exit_now)."""
