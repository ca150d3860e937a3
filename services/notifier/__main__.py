"""python -m services.notifier"""

from services.notifier import SERVICE
from services.notifier.app import build
from services.notifier.config import NotifierSettings
from shared.config import load_settings
from shared.policy import PolicyError
from shared.serve import serve

settings = load_settings(NotifierSettings)
try:
    app = build(settings)
except PolicyError as exc:
    raise SystemExit(f"configuration error: MCN_POLICY_FILE: {exc}") from None
serve(app, settings, service=SERVICE)
