"""The pytest plugin that makes a sign-off suite (entry point ``benches.pytestplugin.hooks``).

- ``hooks``: the options, the collection order, the session's start and end;
- ``config``: the session's rack and manifest, loaded once, and the shared stash keys;
- ``fixtures``: the rack, the bench session, a phone, the gateway, the geo database;
- ``signoff``: what every sign-off test does (run a cycle, judge it, log it);
- ``cycle_tests``: which cycle a collected test runs;
- ``progress``: a line per sign-off test with the time left;
- ``masking``: the last net that masks what pytest and Allure write;
- ``parallel``, ``scheduling``: a sign-off on pytest-xdist workers, a phone per worker;
- ``worker_forkserver`` (with ``worker_forkserver_process`` and ``worker_launcher``):
  those workers forked from one warm process instead of started as new interpreters.
"""
