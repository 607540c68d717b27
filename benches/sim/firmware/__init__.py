"""The build under test, as the virtual phones run it.

`behaviours.py` is what a build sends at boot, unlock and activation;
`events.py` runs those reactions on a phone's own thread; `images.py` builds the
small firmware images `fastboot update` flashes (`python -m benches.sim.firmware.images`).
"""
