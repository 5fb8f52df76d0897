import sys

from liushou_dash.cli import main

sys.exit(main())
