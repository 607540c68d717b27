"""Who a destination is: its name and where it is.

``names`` names destinations from the DNS answers in the captures (else SNI,
else Host) and keeps the DNS queries; ``geo`` places addresses (the virtual
rack's overlay, the bench's own network, two country signals), and builds a
rack's database (``GeoDatabase.for_rack``).
"""
