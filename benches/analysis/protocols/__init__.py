"""What a flow's bytes say, read defensively (hostile bytes never raise).

``dns`` (messages), ``tls`` (the ClientHello's server name), ``http`` and
``http_sync`` (HTTP/1 messages, found again after any loss of sync), ``http2``
(HTTP/2 in cleartext: frames, HPACK header blocks, DATA per stream),
``http_codings`` (bodies decoded, layer by layer, in chunks) within
``budget`` (decoded bytes per flow and per capture), ``quic`` (the client's
Initials, decrypted) and ``gquic`` (Google QUIC's cleartext CHLO),
``ciphertext`` (which TLS and QUIC bytes are ciphertext, left unsearched),
``notes`` (what a reader could not read, said on the flow), and ``readers``:
the protocol readers that follow one direction of a flow.
"""
