"""What a flow's bytes say, read defensively (hostile bytes never raise).

``dns`` (messages), ``tls`` (the ClientHello's server name), ``http`` and
``http_codings`` (HTTP/1 messages, bodies decoded), ``quic`` (the client's
Initials, decrypted), ``ciphertext`` (which TLS and QUIC bytes are ciphertext,
left unsearched), and ``readers``: the protocol readers that follow one
direction of a flow.
"""
