"""The JSON API: /api/v1/..., token auth, OpenAPI at /api/docs."""

from ninja import NinjaAPI

from fairdebt.web.api_auth import ApiToken

api = NinjaAPI(
    title="fairdebt API",
    version="1",
    description="Everything one resident owes, in one place. Authenticate with `Authorization: Bearer <token>` "
    "(create a token with `fairdebt api_token USERNAME`).",
    auth=ApiToken(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)

from fairdebt.accounts.api import router as accounts_router  # noqa: E402

from fairdebt.people.api import router as people_router  # noqa: E402

api.add_router("/v1/", accounts_router)
api.add_router("/v1/", people_router)
