"""Who a flow is: which phone sent it, and its destination's name and place.

``phones`` finds a flow's rack phone by MAC, then by address (and says when
a phone's address changed); ``names`` names destinations from the phone's own
DNS answers (an SNI or Host is only claimed) and keeps the DNS queries;
``geo`` places addresses (the virtual rack's overlay, the bench's own
network, two country signals), and builds a rack's database
(``GeoDatabase.for_rack``).
"""
