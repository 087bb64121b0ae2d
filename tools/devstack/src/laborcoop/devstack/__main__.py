import sys

from laborcoop.devstack.cli import main

sys.exit(main())
