"""``python -m custseg``: the ``custseg`` command, for when the console script is not on PATH."""

from .cli import console

if __name__ == "__main__":
    console()
