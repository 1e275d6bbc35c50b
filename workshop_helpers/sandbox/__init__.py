"""A local, faithful Vonage Voice API platform with virtual phones.

See `service.Sandbox` to run it, `engine` for how calls live, `actions` for what each
NCCO action does, `backend` for what the HTTP endpoints (`api`, `routes/`) ask of the
platform, and `phones` and `phone_handle` for the virtual phones.
"""

from .errors import SandboxError
from .phone_handle import PhoneHandle
from .phones import MAGIC_NUMBERS, PhoneError
from .service import Sandbox

__all__ = ["MAGIC_NUMBERS", "PhoneError", "PhoneHandle", "Sandbox", "SandboxError"]
