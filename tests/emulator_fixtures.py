"""Pytest fixtures that start the Stripe emulator (filled in by the emulator work)."""
