"""Fastboot and the build on a phone: the fastboot driver (`client`), the manifest's image
verified and flashed onto one phone (`image`), the image on every phone of the rack
(`rollout`, `--flash`), and which build a phone really runs (`fingerprint`)."""
