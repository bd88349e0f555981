"""trip-tracker's remote side: the sync engine, the bundled sandbox server and the CLI.

`sync` may import `tracker`; `tracker` never imports `sync`.
"""
