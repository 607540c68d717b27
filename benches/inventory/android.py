"""Android's release names and API levels: a public fact the bench and the simulator share.

Unlike a transaction code (which the simulator keeps in a table of its own, so a wrong
code in the bench fails a test), this mapping is what every phone's props say.
"""

from __future__ import annotations

# ro.build.version.release -> SDK (ro.build.version.sdk), Android 10 to 16.
SDK_BY_RELEASE = {
    "10": 29,
    "11": 30,
    "12": 31,
    "12L": 32,
    "13": 33,
    "14": 34,
    "15": 35,
    "16": 36,
}
RELEASE_BY_SDK = {sdk: release for release, sdk in SDK_BY_RELEASE.items()}


def android_sdk(sdk_prop: str, release_prop: str) -> int | None:
    """The phone's API level from its `ro.build.version.sdk`, else from its release
    ("15", "15.0"); None when neither says."""
    sdk = sdk_prop.strip()
    if sdk.isdigit() and sdk.isascii():
        return int(sdk)
    release = release_prop.strip()
    return SDK_BY_RELEASE.get(release) or SDK_BY_RELEASE.get(release.split(".")[0])
