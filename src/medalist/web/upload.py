"""`PUT /api/landing/<dataset>/<file name>`: a client sends a file into landing over HTTP.

For programs only: the caller's `Authorization: Bearer TOKEN` (a browser session is not taken),
its role's `upload:` list names the dataset. The body is the file's bytes, streamed into a
staged object of the Storage port (a local or an S3 lake alike) and published only when its
SHA-256 matches the `X-Checksum-Sha256` header. Each refusal has its status code and says
why (integration/receive.py does the checking).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from medalist.access import User, Users
from medalist.config import Pipeline
from medalist.integration.receive import Received, Receiving, UploadRefused, Why, admit
from medalist.web.redaction import USER
from medalist.web.refusals import ErrorOut  # the one refusal body of the whole API
from medalist.workflow.context import Ports

STATUS = {
    Why.NOT_ALLOWED: 403,
    Why.UNKNOWN_DATASET: 404,
    Why.BAD_NAME: 400,
    Why.BAD_CHECKSUM: 400,
    Why.EMPTY: 400,
    Why.CHECKSUM_MISMATCH: 400,  # as S3 answers a wrong Content-MD5 (BadDigest)
    Why.TAKEN: 409,
    Why.TOO_BIG: 413,
}
REFUSALS = {
    400: "A bad file name (not a plain name, or one the dataset's source would not read), "
    "a missing or malformed X-Checksum-Sha256, an empty body, or a body whose SHA-256 differs "
    "from the header's (cut or changed on the way: nothing landed).",
    401: "No token, or an unknown one: send Authorization: Bearer TOKEN.",
    403: "The caller's role may not upload to this dataset (its upload: list).",
    404: "No such dataset.",
    409: "Another file (a different SHA-256) holds this name in landing already.",
    413: "Larger than access.max_upload_bytes.",
}


class UploadOut(BaseModel):
    outcome: str = Field(description="landed (201), or skipped (200): the content is there.")
    path: str = Field(description="Where it is in the landing zone: <dataset>/<file name>.")
    bytes: int
    sha256: str
    reason: str = Field("", description="Why it was skipped.")


def router(pipeline: Pipeline, ports: Ports, users: Users) -> APIRouter:
    api = APIRouter()
    bearer = HTTPBearer(auto_error=False, description="A token from `medalist users add`.")

    def uploader(
        request: Request,
        given: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
    ) -> User:
        if users.single_user():
            user = users.local_admin()
        else:
            found = users.by_token(given.credentials.strip()) if given else None
            if found is None:
                raise HTTPException(
                    401,
                    "send Authorization: Bearer TOKEN with an uploader's token",
                    {"WWW-Authenticate": "Bearer"},
                )
            user = found
        setattr(request.state, USER, user)  # the response is redacted for it
        return user

    responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": text} for code, text in REFUSALS.items()
    }
    responses[200] = {"model": UploadOut, "description": "Skipped: the content is there."}

    @api.put(
        "/api/landing/{dataset}/{name}",
        status_code=201,
        response_model=UploadOut,
        responses=responses,
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The file's bytes, as they are (any format the dataset reads).",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        },
    )
    async def upload(
        request: Request,
        dataset: str,
        name: str,
        user: Annotated[User, Depends(uploader)],
        checksum: Annotated[
            str | None,
            Header(
                alias="X-Checksum-Sha256",
                description="The file's SHA-256, 64 hex digits (what `sha256sum` prints).",
            ),
        ] = None,
        length: Annotated[int | None, Header(alias="Content-Length", include_in_schema=False)] = (
            None
        ),
    ) -> Any:
        """Send a file into landing/<dataset>/<name>; the next run takes it."""
        try:
            done = await run_in_threadpool(
                admit, pipeline, ports, user, dataset, name, checksum, length
            )
            if done is None:
                done = await _receive(request, pipeline, ports, f"{dataset}/{name}", checksum)
        except UploadRefused as refused:
            return JSONResponse({"detail": str(refused)}, status_code=STATUS[refused.why])
        body = UploadOut(
            outcome=done.outcome.value,
            path=done.path,
            bytes=done.size,
            sha256=done.sha256,
            reason=done.reason,
        )
        return JSONResponse(body.model_dump(), status_code=201 if done.reason == "" else 200)

    return api


async def _receive(
    request: Request, pipeline: Pipeline, ports: Ports, target: str, checksum: str | None
) -> Received:
    assert checksum is not None  # admit() refused it otherwise
    receiving = await run_in_threadpool(Receiving, pipeline, ports, target, checksum)
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(receiving.write, chunk)
        return await run_in_threadpool(receiving.publish)
    except BaseException:
        await run_in_threadpool(receiving.abort)
        raise
