"""python -m services.intake"""

from services.intake import SERVICE
from services.intake.app import build
from services.intake.config import IntakeSettings
from shared.config import load_settings
from shared.serve import serve

settings = load_settings(IntakeSettings)
serve(build(settings), settings, service=SERVICE)
