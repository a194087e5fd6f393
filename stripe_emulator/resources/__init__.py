"""Stripe resources the emulator serves, one module per area of the API."""
