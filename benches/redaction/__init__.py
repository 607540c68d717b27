"""The bench's own privacy (layer 2: imports only inventory): identifiers masked wherever
people read them, and the files that hold them raw kept owner-only.

- ``masks``: ``mask()`` of one value, the auditor's switch (``show_raw``), and
  phone labels (``device_label``: a phone named by its masked serial, "SI…1");
- ``rack_masker``: every identifier of the rack masked in free text (logs, error
  messages, consoles, Allure results): ``use_rack``, ``scrub_text``, ``scrub_file``;
- ``log_records``: a log record factory that masks each record as it is made;
- ``safe_files``: every file and folder the bench writes, made without following a
  link (it runs as root, and writes where people point it);
- ``private_files``: files only the owner may read (pcaps, consoles, logcat, the
  evidence pack), 0600 from their first byte, written through ``safe_files``;
- ``printable``: text from a capture or a database escaped before a terminal, a
  log or HTML shows it.
"""
