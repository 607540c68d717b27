"""A phone's own identifiers: read over ADB (`harvest`, with `iphonesubinfo`'s transaction
codes per release and `parcel`'s reader for `service call` replies) into a
`HarvestedIdentity` (`model`), and compared with what devices.yaml declares (`check`)."""
