"""The creator studio: applying to become a creator, approval, and the creator's dashboard.

Lives in ``home`` because it reads from every app (docs/architecture.md: no app imports ``home``).
"""
