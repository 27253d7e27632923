"""python -m grpodx.cases stats|show|generate ... (the same as python -m grpodx cases ...)."""

import sys

from grpodx.cases.cli import main

raise SystemExit(main(sys.argv[1:]))
