"""Routes of the shared model under /api/v1/ (trailing slash optional)."""

from core.api.routers import OptionalSlashRouter
from portfolios.api import views

router = OptionalSlashRouter()
router.register("instruments", views.InstrumentViewSet, basename="instrument")
router.register("price-bars", views.PriceBarViewSet, basename="pricebar")
router.register("quotes", views.QuoteViewSet, basename="quote")
router.register("market-trades", views.MarketTradeViewSet, basename="markettrade")
router.register("events", views.MarketEventViewSet, basename="marketevent")
router.register("factor-returns", views.FactorReturnViewSet, basename="factorreturn")
router.register("desks", views.DeskViewSet, basename="desk")
router.register("beneficial-owners", views.BeneficialOwnerViewSet, basename="beneficialowner")
router.register("portfolios", views.PortfolioViewSet, basename="portfolio")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("positions", views.PositionViewSet, basename="position")
router.register("orders", views.OrderViewSet, basename="order")
router.register("order-events", views.OrderEventViewSet, basename="orderevent")
router.register("trades", views.TradeViewSet, basename="trade")

urlpatterns = router.urls
