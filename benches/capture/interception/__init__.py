"""TLS interception at the gateway: mitmproxy, the files it leaves per cycle, the redirect."""
