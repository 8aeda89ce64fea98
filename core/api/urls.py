from core.api.routers import OptionalSlashRouter
from core.api.views import CalculationRunViewSet

router = OptionalSlashRouter()
router.register("runs", CalculationRunViewSet, basename="calculationrun")

urlpatterns = router.urls
