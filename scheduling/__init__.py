"""Availability, booking rules, slot search, appointments and the wait list."""
