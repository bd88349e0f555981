"""``python -m sync.cli`` runs the ``tracker`` command."""

from sync.cli import main

main()
