"""The offline analyzer: capture files in; flows, identifier matches and DNS lookups out.

It never talks to a phone and never judges (the policy does). Its packages,
bottom to top, each importing only from the ones below it (the import-linter
contract "analysis: pcap < network < ..." in pyproject.toml):

    pcap/          capture files -> records: pcap and pcapng (gzip'd or not), the C
                   record walk, link types, shards, the reading's clock, frame times
    network/       records -> IP packets, fragments made whole, TCP put in order,
                   flows, and the seam that hands each flow's bytes on (streams)
    protocols/     what the bytes say: DNS, the TLS ClientHello, HTTP/1 with its
                   bodies decoded, QUIC Initials; the readers that follow a stream
    detection/     the rack's identifiers and the bench's location in any bytes, in
                   every form and encoding, with masked evidence
    attribution/   who a destination is: its name (DNS, SNI, Host) and its place
                   (overlay, local, two country signals)

and at the root what puts them together: ``analyzer.analyze()`` (the entry
point), ``packet_loop`` (one capture into flows, whole or one shard),
``inspection`` (every flow's bytes searched and read), ``parallel`` (one
process or several), ``readout`` (what reading gave, merged), ``results`` (what
the analysis reports), ``jsonrows`` (its JSON, fast) and ``gcpause``.
"""
