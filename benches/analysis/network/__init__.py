"""From records to flows: IP packets, fragments, TCP streams, and the seam.

``encapsulations`` walks a frame's link headers (VLAN, PPPoE, MPLS, ERSPAN,
...) to its IP packet, ``packets`` finds that packet and unwraps IP tunnels,
``defrag`` makes fragments whole, ``tcp`` puts each direction's bytes in
order, ``flows`` groups packets into flows (``sides`` holds each flow's
state), and ``streams`` is the seam: the calls a flow's byte streams make on
whatever reads them.
"""
