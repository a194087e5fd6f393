"""Billing models arrive with the billing core issues (billing accounts, fee schedules, mirror)."""
