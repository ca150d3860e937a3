"""python -m services.classifier"""

from services.classifier import SERVICE
from services.classifier.app import build
from services.classifier.config import ClassifierSettings
from shared.config import load_settings
from shared.serve import serve

settings = load_settings(ClassifierSettings)
serve(build(settings), settings, service=SERVICE)
