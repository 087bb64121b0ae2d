"""The registry's HTTP routes: thin, they parse, call a use case and shape the answer."""

from uuid import UUID

from fastapi import APIRouter, Response, status

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.errors import Conflict, Forbidden, NotFound, problem_responses
from laborcoop.common.http import DbPool, Settings
from laborcoop.registry import repository, service
from laborcoop.registry.schemas import BrandCreate, BrandOut

router = APIRouter(prefix="/v1/brands", tags=["brands"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a labour brand",
    responses=problem_responses(Forbidden, Conflict),
)
async def register_brand(
    body: BrandCreate,
    principal: CurrentPrincipal,
    pool: DbPool,
    settings: Settings,
    response: Response,
) -> BrandOut:
    brand = await service.register_brand(pool, settings, principal, body)
    response.headers["Location"] = f"/v1/brands/{brand.id}"
    return BrandOut.model_validate(brand, from_attributes=True)


@router.get("/{brand_id}", summary="One brand", responses=problem_responses(NotFound))
async def get_brand(brand_id: UUID, principal: CurrentPrincipal, pool: DbPool) -> BrandOut:
    async with pool.acquire() as conn:
        brand = await repository.get(conn, brand_id)
    if brand is None:
        raise NotFound(f"no brand {brand_id}")
    return BrandOut.model_validate(brand, from_attributes=True)
