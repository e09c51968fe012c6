"""The web app: server-rendered pages (usable without JavaScript, enhanced by htmx) and a JSON API under /api/.

Routes only parse parameters, call the library (refman.catalog, refman.search, refman.reader, refman.capture,
refman.citation) and render; the library's typed errors become HTTP statuses (usage → 400, not found → 404,
catalog busy or damaged → 503) with a one-line `{"error": …}` body. Each worker thread keeps one store (on
SQLite, WAL: readers never wait for `refman fetch`, writers wait at most its batch)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Body, Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from refman.errors import CatalogError, NotFoundError, RefmanError, UsageError
from refman.reader import SnapshotText, TextDiff
from refman.web.security import CSRF_FIELD, Guard, _headers, write_allowed

if TYPE_CHECKING:
    from refman.store.protocol import Store

_HERE = Path(__file__).parent
EXPORT_TYPES = {"biblatex": ("application/x-bibtex", "bib"), "bibtex": ("application/x-bibtex", "bib"),
                "csljson": ("application/vnd.citationstyles.csl+json", "json"),
                "ris": ("application/x-research-info-systems", "ris"), "markdown": ("text/markdown", "md")}
FACET_SECONDS = 30.0


# --- API models: the CLI's JSON field names (README: JSON output) ------------------------------------------


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class MentionOut(_Open):
    path: str
    line: int
    label: str | None = None
    kind: str


class SourceOut(_Open):
    id: int
    url: str
    url_as_written: str | None = None
    citekey: str | None = None
    type: str | None = None
    title: str | None = None
    issued: str | None = None
    container_title: str | None = None
    publisher: str | None = None
    author: list[dict[str, str]] = []
    DOI: str | None = None
    language: str | None = None
    abstract: str | None = None
    tags: list[str] = []
    status: str
    reason: str | None = None
    fetched_at: str | None = None
    accessed: str | None = None
    note: str | None = None
    added_by: str | None = None
    first_cited_at: str | None = None
    mentions: list[MentionOut] = []


class SnapshotOut(_Open):
    id: int
    fetched_at: str
    outcome: str
    origin: str
    http_status: int | None = None
    size: int | None = None
    memento_url: str | None = None
    memento_at: str | None = None


class SourceDetailOut(SourceOut):
    provenance: dict[str, str] = {}
    pinned: list[str] = []
    evidence: list[dict[str, Any]] = []
    snapshots: list[SnapshotOut] = []
    archived_chars: int = 0


class HitOut(BaseModel):
    id: int
    url: str
    title: str | None
    issued: str | None
    site: str | None
    score: float | None
    snippet: str
    matched_fields: list[str]


class NoteOut(BaseModel):
    path: str
    root: str
    sources: int
    mentions: int


class AddSourceIn(BaseModel):
    url: str = Field(min_length=1, max_length=8192)
    title: str | None = Field(default=None, max_length=2000)
    tags: list[str] = []
    note: str | None = Field(default=None, max_length=100_000)


class AddSourceOut(BaseModel):
    created: bool
    source: SourceOut


class PatchSourceIn(BaseModel):
    """Pinned values to set (`refman set`), fields to release (`refman unset`), tags to add and remove."""

    set: dict[str, str] = {}
    unset: list[str] = []
    add_tags: list[str] = []
    remove_tags: list[str] = []


class CaptureOut(BaseModel):
    id: int
    url: str
    created: bool
    snapshot_id: int
    outcome: str
    reason: str | None
    title: str | None
    saved_at: str | None


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut}, 404: {"model": ErrorOut},
                                           403: {"model": ErrorOut}, 503: {"model": ErrorOut}}


# --- the app ---------------------------------------------------------------------------------------------


class Catalog:
    """One store per worker thread, opened on first use."""

    def __init__(self, location: Path | str) -> None:
        self.location = location  # a SQLite file or a PostgreSQL URL (refman.config.catalog_location)
        self._local = threading.local()
        self._facets: tuple[float, dict[str, Any]] | None = None

    def store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            from refman.store import open_store

            store = open_store(self.location)
            self._local.store = store
        return store

    def facets(self) -> dict[str, Any]:
        """Facet and catalog counts for the search page, recomputed at most every FACET_SECONDS (at 100k
        sources they take ~0.1 s: not for every page view)."""
        from refman.reader import catalog_counts, facets

        now = time.monotonic()
        if self._facets is None or now - self._facets[0] > FACET_SECONDS:
            store = self.store()
            self._facets = (now, {**facets(store), "counts": catalog_counts(store)})
        return self._facets[1]


def _status_for(exc: RefmanError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, CatalogError):
        return 503
    return 500


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:500]


def create_app(location: Path | str, guard: Guard) -> FastAPI:
    import jinja2

    from refman.web.render import markdown_html, snippet_html

    catalog = Catalog(location)
    catalog.store()  # create or upgrade the schema now, not in the first request
    app = FastAPI(title="refman", version="1", docs_url=None, redoc_url=None,
                  description="The catalog of a Markdown vault's references: the CLI's JSON under /api/.")
    app.state.catalog = catalog
    app.state.guard = guard
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = markdown_html
    env.filters["snippet"] = snippet_html
    env.filters["urlq"] = lambda v: quote(str(v), safe="")
    env.globals.update(csrf=guard.csrf_token, csrf_field=CSRF_FIELD, snapshot_url=guard.snapshot_url,
                       name_text=_name_text)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api/")

    @app.exception_handler(RefmanError)
    async def _refman_error(request: Request, exc: RefmanError) -> Response:
        status = _status_for(exc)
        if wants_html(request):
            return page("error.html", status, message=_one_line(str(exc)), code=status)
        return JSONResponse({"error": _one_line(str(exc))}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = _one_line(f"{where}: {first.get('msg', 'invalid input')}" if where else first.get("msg", ""))
        if wants_html(request):
            return page("error.html", 400, message=message, code=400)
        return JSONResponse({"error": message}, status_code=400)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if wants_html(request) and exc.status_code != 405:
            return page("error.html", exc.status_code, message=_one_line(str(exc.detail)), code=exc.status_code)
        return JSONResponse({"error": _one_line(str(exc.detail))}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def check_write(request: Request) -> None:
        field = None
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            field = value if isinstance(value, str) else None
        if not write_allowed(guard, _headers(request.scope), field):
            raise HTTPException(403, "writes need the server's token (Authorization: Bearer TOKEN) or a request"
                                " from the app's own pages")

    Write = Depends(check_write)

    # --- pages -----------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "", tag: Annotated[list[str], Query()] = [],  # noqa: B006
                    site: str = "", status: str = "", since: str = "", until: str = "", cited_in: str = "",
                    offset: int = Query(0, ge=0, le=100_000)) -> HTMLResponse:
        from refman.search import SearchFilters, search

        params = {"q": q, "tag": tag, "site": site, "status": status, "since": since, "until": until,
                  "cited_in": cited_in}
        filters = SearchFilters(tags=[t for t in tag if t], since=since or None, until=until or None,
                                site=site or None, cited_in=cited_in or None, status=status or None)
        hits: list[Any] = []
        message = None
        limit = 25
        if q.strip() or filters.any:
            try:
                hits = search(catalog.store(), q, filters, limit=limit + 1, offset=offset)
            except UsageError as exc:
                message = str(exc)
        more = len(hits) > limit
        hits = hits[:limit]

        def link(**change: Any) -> str:
            merged = {**params, "offset": offset, **change}
            query = urlencode([(k, x) for k, v in merged.items() for x in (v if isinstance(v, list) else [v])
                               if x not in ("", None, 0)])
            return "/?" + query if query else "/"

        context: dict[str, Any] = dict(params=params, hits=hits, message=message, more=more, offset=offset, limit=limit,
                                       link=link, searched=bool(q.strip() or filters.any))
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
            partial = page("_results.html", **context)
            partial.headers["HX-Replace-Url"] = link()  # the address bar shows a clean, bookmarkable search
            return partial
        cached = catalog.facets()
        return page("search.html", facets=cached, stats=cached["counts"],
                    **context)

    def source_context(sid: int, error: str | None = None) -> dict[str, Any]:
        from refman.catalog import SETTABLE_FIELDS, show_source
        from refman.reader import note_links, snapshot_history

        store = catalog.store()
        item = show_source(store, sid, snapshots=0)
        fields = []
        for name in SETTABLE_FIELDS:
            key = "DOI" if name == "doi" else name
            value = item.get(key)
            origin = item["provenance"].get(name)
            if name == "author":
                value = "; ".join(_name_text(n) for n in value or [])
            fields.append({"name": name, "value": value or "", "origin": origin, "pinned": name in item["pinned"]})
        history = snapshot_history(store, sid)
        return dict(item=item, fields=fields, notes=note_links(store, sid), history=history, error=error,
                    good=[s for s in history if s["n"]])

    @app.get("/sources/{sid}", response_class=HTMLResponse, include_in_schema=False)
    def source_page(sid: int) -> HTMLResponse:
        return page("source.html", **source_context(sid))

    @app.post("/sources/{sid}/fields", include_in_schema=False, dependencies=[Write])
    def edit_field(request: Request, sid: int, field: str = Form(...), value: str = Form(""),
                   action: str = Form("set")) -> Response:
        from refman.catalog import set_fields, unset_fields
        from refman.reader import source_brief

        source_brief(catalog.store(), sid)  # 404 for a source that does not exist
        store = catalog.store()
        try:
            if action == "unset":
                unset_fields(store, sid, [field])
            else:
                set_fields(store, sid, [f"{field}={value}"])
        except UsageError as exc:
            return _after_edit(request, sid, page, source_context, str(exc))
        return _after_edit(request, sid, page, source_context, None)

    @app.post("/sources/{sid}/tags", include_in_schema=False, dependencies=[Write])
    def edit_tags(request: Request, sid: int, add: str = Form(""), remove: str = Form("")) -> Response:
        from refman.catalog import tag_sources
        from refman.reader import source_brief

        source_brief(catalog.store(), sid)  # 404 for a source that does not exist
        store = catalog.store()
        try:
            tag_sources(store, [sid], [t for t in add.split() if t], [t for t in remove.split() if t])
        except UsageError as exc:
            return _after_edit(request, sid, page, source_context, str(exc))
        return _after_edit(request, sid, page, source_context, None)

    @app.get("/sources/{sid}/citations", response_class=HTMLResponse, include_in_schema=False)
    def citations_part(sid: int) -> HTMLResponse:
        from refman.reader import citations

        return page("_citations.html", citations=citations(catalog.store(), sid))

    @app.get("/sources/{sid}/read", response_class=HTMLResponse, include_in_schema=False)
    def read_page(sid: int, snapshot: str = "") -> HTMLResponse:
        from refman.reader import read_text

        text = read_text(catalog.store(), sid, snapshot or None)
        return page("read.html", text=text)

    @app.get("/sources/{sid}/diff", response_class=HTMLResponse, include_in_schema=False)
    def diff_page(sid: int, a: str = "2", b: str = "1") -> HTMLResponse:
        from refman.reader import diff_snapshots, source_brief

        store = catalog.store()
        return page("diff.html", diff=diff_snapshots(store, sid, a, b), item=source_brief(store, sid)._asdict())

    @app.get("/notes", response_class=HTMLResponse, include_in_schema=False)
    def notes_page() -> HTMLResponse:
        from refman.reader import list_notes

        return page("notes.html", notes=list_notes(catalog.store()))

    @app.get("/notes/{note:path}", response_class=HTMLResponse, include_in_schema=False)
    def note_page(note: str) -> HTMLResponse:
        from refman.reader import note_bibliography

        return page("note.html", bib=note_bibliography(catalog.store(), note), formats=list(EXPORT_TYPES))

    @app.get("/health", response_class=HTMLResponse, include_in_schema=False)
    def health_page() -> HTMLResponse:
        from refman.reader import link_health

        return page("health.html", report=link_health(catalog.store()))

    @app.get("/capture", response_class=HTMLResponse, include_in_schema=False)
    def capture_form() -> HTMLResponse:
        return page("capture.html", origin=guard.origin)

    @app.post("/capture", include_in_schema=False, dependencies=[Write])
    async def capture_upload(request: Request, file: UploadFile = File(...), url: str = Form("")) -> Response:
        result = await _capture(file, url)
        return RedirectResponse(f"/sources/{result.id}", status_code=303)

    async def _capture(file: UploadFile, url: str) -> Any:
        import anyio

        from refman.capture import MAX_CAPTURE_BYTES, capture_page

        data = await file.read(MAX_CAPTURE_BYTES + 1)
        return await anyio.to_thread.run_sync(
            lambda: capture_page(catalog.store(), data, url or None))

    # --- JSON API --------------------------------------------------------------------------------------

    @app.get("/api/search", response_model=list[HitOut], responses=ERRORS, tags=["api"])
    def api_search(q: str = "", tag: Annotated[list[str], Query()] = [],  # noqa: B006
                   site: str | None = None, status: str | None = None, since: str | None = None,
                   until: str | None = None, cited_in: str | None = None,
                   limit: int = Query(20, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000)) -> Any:
        """`refman search --json`: the query language and filters of the CLI."""
        from refman.search import SearchFilters, search

        filters = SearchFilters(tags=tag, since=since, until=until, site=site, cited_in=cited_in, status=status)
        return [h.to_json() for h in search(catalog.store(), q, filters, limit=limit, offset=offset)]

    @app.get("/api/sources", response_model=list[SourceOut], responses=ERRORS, tags=["api"])
    def api_sources(tag: str | None = None, status: str | None = None, orphans: bool = False,
                    url: str | None = None, limit: int = Query(100, ge=1, le=10_000)) -> Any:
        """`refman list --json`; `url` finds the source of a URL (as written, normalised or merged away)."""
        from refman.catalog import list_sources
        from refman.references import resolve_source

        store = catalog.store()
        ids = [resolve_source(store, url)] if url else None
        return list_sources(store, tag=tag, status=status, orphans=orphans, ids=ids, limit=limit)

    @app.post("/api/sources", response_model=AddSourceOut, responses=ERRORS, tags=["api"], dependencies=[Write],
              status_code=200)
    def api_add(body: AddSourceIn) -> Any:
        """`refman add --json`."""
        from refman.catalog import add_source, list_sources

        store = catalog.store()
        sid, created = add_source(store, body.url, title=body.title, tags=body.tags, note=body.note)
        return {"created": created, "source": list_sources(store, ids=[sid])[0]}

    @app.get("/api/sources/{ref}", response_model=SourceDetailOut, responses=ERRORS, tags=["api"])
    def api_source(ref: str) -> Any:
        """`refman show --json`: an id, a citation key or a URL."""
        from refman.catalog import show_source
        from refman.references import resolve_source

        store = catalog.store()
        return show_source(store, resolve_source(store, ref))

    @app.patch("/api/sources/{ref}", response_model=SourceDetailOut, responses=ERRORS, tags=["api"],
               dependencies=[Write])
    def api_patch(ref: str, body: Annotated[PatchSourceIn, Body()]) -> Any:
        """`refman set`, `refman unset` and `refman tag` in one transaction."""
        from refman.catalog import set_fields, show_source, tag_sources, unset_fields
        from refman.references import resolve_source

        store = catalog.store()
        sid = resolve_source(store, ref)
        with store.transaction():
            if body.set:
                set_fields(store, sid, [f"{k}={v}" for k, v in body.set.items()])
            if body.unset:
                unset_fields(store, sid, body.unset)
            if body.add_tags or body.remove_tags:
                tag_sources(store, [sid], body.add_tags, body.remove_tags)
        return show_source(store, sid)

    @app.get("/api/sources/{ref}/text", response_model=SnapshotText, responses=ERRORS, tags=["api"])
    def api_text(ref: str, snapshot: str | None = None) -> Any:
        """`refman read --json`: the archived text (Markdown) of the latest copy, or of `snapshot` (N or DATE)."""
        from refman.reader import read_text
        from refman.references import resolve_source

        store = catalog.store()
        return read_text(store, resolve_source(store, ref), snapshot).to_json()

    @app.get("/api/sources/{ref}/diff", response_model=TextDiff, responses=ERRORS, tags=["api"])
    def api_diff(ref: str, a: str = "2", b: str = "1") -> Any:
        """`refman read --diff A B --json`."""
        from refman.reader import diff_snapshots
        from refman.references import resolve_source

        store = catalog.store()
        return diff_snapshots(store, resolve_source(store, ref), a, b).to_json()

    @app.get("/api/notes", response_model=list[NoteOut], responses=ERRORS, tags=["api"])
    def api_notes() -> Any:
        """Every imported note with the number of sources it cites."""
        from refman.reader import list_notes

        return list_notes(catalog.store())

    @app.get("/api/health", responses=ERRORS, tags=["api"])
    def api_health() -> Any:
        """`refman check --json`'s report for the whole catalog (no new check is made)."""
        from refman.reader import link_health

        return link_health(catalog.store())

    @app.get("/api/export", responses={**ERRORS, 200: {"content": {"text/plain": {}}}}, tags=["api"],
             response_class=PlainTextResponse)
    def api_export(format: str = "biblatex", ref: Annotated[list[str], Query()] = [],  # noqa: B006
                   tag: Annotated[list[str], Query()] = [],  # noqa: B006
                   cited_in: str | None = None, q: str | None = None, download: bool = False) -> Response:
        """`refman export`: the same selection options; `download=true` names a file to save."""
        from refman.citation.export import export_pieces
        from refman.citation.selection import Selection

        if format not in EXPORT_TYPES:
            raise UsageError(f"unknown export format {format!r}: use one of {', '.join(EXPORT_TYPES)}")
        sel = Selection(refs=ref, tags=tag, cited_in=cited_in or None, query=q or None, all=False)
        text = "".join(export_pieces(catalog.store(), sel, format))
        media, ext = EXPORT_TYPES[format]
        headers = {}
        if download:
            stem = (cited_in or "refman").rstrip("/").rsplit("/", 1)[-1].removesuffix(".md") or "refman"
            headers["content-disposition"] = f"attachment; filename*=UTF-8''{quote(stem + '.' + ext)}"
        return Response(text, media_type=f"{media}; charset=utf-8", headers=headers)

    @app.post("/api/capture", response_model=CaptureOut, responses=ERRORS, tags=["api"], dependencies=[Write])
    async def api_capture(file: UploadFile = File(..., description="The page as saved (SingleFile: one HTML file)"),
                          url: str = Form("", description="The page's URL (default: the one the file names)")
                          ) -> Any:
        """Archive a page saved in the browser (SingleFile's "upload to a REST form API") as a `capture`."""
        return (await _capture(file, url)).to_json()

    return app


def _after_edit(request: Request, sid: int, page: Any, context: Any, error: str | None) -> Response:
    response: Response
    if request.headers.get("hx-request"):
        response = page("_source_edit.html", 400 if error else 200, **context(sid, error))
    elif error:
        response = page("source.html", 400, **context(sid, error))
    else:
        response = RedirectResponse(f"/sources/{sid}", status_code=303)
    return response


def _name_text(n: dict[str, str]) -> str:
    if "literal" in n:
        return n["literal"]
    return ", ".join(p for p in (n.get("family"), n.get("given")) if p)
