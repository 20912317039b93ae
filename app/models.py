"""Every table of every domain, imported in one place for Alembic's metadata."""

from sqlmodel import SQLModel

from app.audit.models import AuditRecord  # noqa: F401
from app.auth.models import ApiClient  # noqa: F401
from app.calendar.models import CalendarDay, CalendarYear  # noqa: F401
from app.dueprocess.models import Appeal, Defence, Proposal, Statement  # noqa: F401
from app.notices.models import Notice, NoticeRow  # noqa: F401
from app.practitioners.models import Institution, Practitioner, PractitionerInstitution  # noqa: F401
from app.referrals.models import Referral, ReferralEvent, ReferralOverdue, ReferralSubject  # noqa: F401
from app.scoring.models import (  # noqa: F401
    LedgerCheckpoint,
    LedgerCheckpointHead,
    LedgerRow,
    RulesetRecord,
    ScoreCase,
    StandingRecord,
)
from app.shared.events import Event  # noqa: F401
from app.shared.feed import StandingChange, StandingFeedHead  # noqa: F401
from app.simulations.models import Simulation, SimulationRow, SimulationUnplaced  # noqa: F401
from app.webhooks.models import (  # noqa: F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFannedOut,
    WebhookFanout,
)
from app.workbench.models import SignInThrottle, WorkbenchSession, WorkbenchUser  # noqa: F401

metadata = SQLModel.metadata
