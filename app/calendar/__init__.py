"""The official working-day calendar: each year's holidays and adjusted working days, stored."""
