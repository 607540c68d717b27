"""Capture files read as records: pcap and pcapng, optionally gzip'd, in chunks.

``files`` opens a capture (``PcapReader``) and streams its records, ``pcapng``
reads the blocks of a pcapng file, ``recordwalk`` picks the C record walk
(``_records.c``) when it is built; ``record`` and ``linktypes`` say what a
record is; ``shard`` decides which flows a shard of a parallel reading reads;
``clock`` tells where the reading is; ``timestamps`` reads given frames' times.
"""
