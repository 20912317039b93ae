"""Every table of every domain, imported in one place for Alembic's metadata."""

from sqlmodel import SQLModel

from app.auth.models import ApiClient  # noqa: F401
from app.practitioners.models import Institution, Practitioner, PractitionerInstitution  # noqa: F401

metadata = SQLModel.metadata
