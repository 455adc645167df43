"""``python -m disco.master``: run the master in the foreground, settings from the environment."""
import logging

from disco.master.server import run
from disco.settings import DiscoSettings


def main():
    settings = DiscoSettings()
    level = logging.INFO if settings["DISCO_DEBUG"] not in ("", "off") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(settings)


if __name__ == "__main__":
    main()
