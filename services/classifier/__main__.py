"""python -m services.classifier"""

from services.classifier import SERVICE
from services.classifier.app import build
from services.classifier.config import ClassifierSettings
from shared.config import load_settings
from shared.policy import PolicyError
from shared.serve import serve

settings = load_settings(ClassifierSettings)
try:
    app = build(settings)
except PolicyError as exc:
    raise SystemExit(f"configuration error: MCN_POLICY_FILE: {exc}") from None
serve(app, settings, service=SERVICE)
