"""``python -m greenhack``: the same as the ``greenhack`` console script."""

from greenhack.cli import main

main()
