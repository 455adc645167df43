"""``python -m disco.worker``: run one task of a Python worker (see ``disco.worker.main``)."""
import sys

from disco.worker import main

sys.exit(main())
