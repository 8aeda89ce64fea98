"""Routes of the audit trail under /api/v1/ (trailing slash optional)."""

from audit.api.views import AuditEventViewSet
from core.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("audit-events", AuditEventViewSet, basename="auditevent")

urlpatterns = router.urls
