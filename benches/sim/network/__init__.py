"""The virtual rack's internet, on loopback only.

`resolver.py` (DNS) and `endpoints.py` (HTTP and TLS) are the servers, `client.py`
how a phone uses the network, `dns.py` the bit of DNS wire format both need and
`certs.py` the endpoints' self-signed certificates.
"""
