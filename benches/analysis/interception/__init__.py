"""What a TLS-intercepting proxy decrypted, read into the analyzer (issue 15).

:mod:`.records` reads the interceptor's per-cycle files strictly; :mod:`.replay` hands
each decrypted message to the inspection as a cleartext stream's would be;
:mod:`.reading` joins them to the capture's flows and tells the phone's TLS flows
opened, opaque or not tried.
"""
