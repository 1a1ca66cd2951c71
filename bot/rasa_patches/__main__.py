"""Rasa's command line with the project's patches installed: `python -m bot.rasa_patches run ...`.

The Rasa server and `make shell` start this way (bot/run/topology.py), so both run the same Rasa."""

import sys


def main() -> None:
    import bot.rasa_patches

    # Before Rasa's command line is imported: the import hooks must be in before Rasa's modules.
    bot.rasa_patches.install(command=sys.argv[1:])
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
