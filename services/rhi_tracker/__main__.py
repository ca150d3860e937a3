"""python -m services.rhi_tracker"""

from services.rhi_tracker import SERVICE
from services.rhi_tracker.app import build
from services.rhi_tracker.config import RhiSettings
from shared.config import load_settings
from shared.serve import serve

settings = load_settings(RhiSettings)
serve(build(settings), settings, service=SERVICE)
