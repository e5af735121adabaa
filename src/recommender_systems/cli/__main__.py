"""``python -m recommender_systems.cli``: the ``recsys`` command."""

import sys

from recommender_systems.cli import main

sys.exit(main())
