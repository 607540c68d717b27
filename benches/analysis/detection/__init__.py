"""The rack's identifiers and the bench's location, found in any bytes.

``forms`` (how an identifier may be written) and ``encodings`` (how a form may
be spelled on the wire) feed ``detector`` (all of them in one automaton);
``locations`` finds coordinate pairs near the bench; ``identifiers`` is the
short public face; ``scanner`` is the Protocol the inspection searches
through; ``datagrams`` searches small datagrams together; ``evidence`` keeps
a stream's last bytes for a match's frame and evidence; ``masks`` masks
identifiers wherever the bench shows them. Issue 13 added ``base32`` (the base32
encodings), ``radix`` (the groups around a base64 or base32 literal, decoded),
``needles`` (the binary numbers' anchors, in one pass), ``geohash`` (locations as
geohashes) and ``decoded`` (the search of decoded bytes: body layers, messages).
"""
