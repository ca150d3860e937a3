"""RHI tracker: opens return home interview tasks with their statutory deadline."""

SERVICE = "rhi_tracker"
