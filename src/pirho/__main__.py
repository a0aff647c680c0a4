import sys

from pirho.cli import main

sys.exit(main())
