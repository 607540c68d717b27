"""From records to flows: IP packets, fragments, TCP streams, and the seam.

``packets`` finds the IP packet in a frame, ``defrag`` makes fragments whole,
``tcp`` puts each direction's bytes in order, ``flows`` groups packets into
flows (``sides`` holds each flow's state), and ``streams`` is the seam: the
calls a flow's byte streams make on whatever reads them.
"""
