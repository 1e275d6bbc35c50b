"""Voice API Workshop Kit: helpers for the notebooks.

    import workshop_helpers as wh
    ws = wh.start()      # a local Voice API platform, your webhook server, a client

The sandbox (a local Voice API platform) is in `workshop_helpers.sandbox`; NCCO
validation, shared by the sandbox and your webhook handlers, is in `workshop_helpers.ncco`.
"""

import logging

# Nothing the kit logs from a background thread may print into a notebook cell.
logging.getLogger("workshop_helpers").addHandler(logging.NullHandler())

from .doctor import doctor  # noqa: E402 (after the logging set-up)
from .live_setup import setup  # noqa: E402
from .workshop import Workshop, running, start, stop  # noqa: E402

__all__ = ["Workshop", "doctor", "running", "setup", "start", "stop"]
