"""A local, faithful Vonage Voice API platform with virtual phones.

See `service.Sandbox` to run it, `engine` for how calls live, `actions` for what each
NCCO action does, `api` for the HTTP endpoints and `phones` for the virtual phones.
"""

from .engine import SandboxError
from .phones import MAGIC_NUMBERS, PhoneError
from .service import PhoneHandle, Sandbox

__all__ = ["MAGIC_NUMBERS", "PhoneError", "PhoneHandle", "Sandbox", "SandboxError"]
