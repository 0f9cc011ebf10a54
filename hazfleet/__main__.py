import sys

from hazfleet.cli import main

sys.exit(main())
