"""Voice API Workshop Kit: helpers for the notebooks.

The sandbox (a local Voice API platform) is in `workshop_helpers.sandbox`; NCCO
validation shared by the sandbox and your webhook handlers is in `workshop_helpers.ncco`.
"""

import logging

# Nothing the kit logs from a background thread may print into a notebook cell.
logging.getLogger("workshop_helpers").addHandler(logging.NullHandler())
