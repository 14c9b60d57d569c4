"""``python -m studyhall.cli``: the same as the ``studyhall`` command."""

from studyhall.cli import main

main()
