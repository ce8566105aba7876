import sys

from recon_assets.cli import main

sys.exit(main())
