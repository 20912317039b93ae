"""Domain vocabulary several domains share: regions and their scope rule, working days, and the
event outbox every change writes. Above the kit, below the domains (``.importlinter``).
"""
