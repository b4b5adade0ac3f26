"""OS analyzers: release files name the distribution, package databases list its packages.

Each module is pure (bytes in, records out) and exposes one `ANALYZER` of kind "os": `os_release` (family and
release), `dpkg` (status and distroless status.d), `dpkg_files` (per-package file lists), `apk` (installed) and
`rpm` (sqlite, Berkeley DB and NDB databases).
"""
