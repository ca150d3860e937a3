"""Every table in one metadata, for Alembic and for the models-match-migrations test."""

from __future__ import annotations

import services.classifier.models
import services.intake.models
import services.notifier.models
import services.rhi_tracker.models
import shared.auth
import shared.inbox
import shared.outbox
from shared.db import Base

OWNERS = (
    shared.auth,
    shared.inbox,
    shared.outbox,
    services.intake.models,
    services.classifier.models,
    services.rhi_tracker.models,
    services.notifier.models,
)
metadata = Base.metadata
