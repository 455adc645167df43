"""The master's web pages (docs/http-api.md#web-pages): static HTML/CSS/JS files served from ``DISCO_WWW_ROOT``.

A page file (``<page>.html``) is its body only, after one line of metadata,
``<!-- title: T | page: P | nav: N -->`` (and optionally ``| scripts: a b``: scripts ``js/a.js``,
``js/b.js`` the page's own script uses); every page is served inside ``layout.html``, which holds
the head and the navigation they share (``nav`` names the navigation link shown as current).

The pages hold no data: their scripts fetch the JSON API (``/disco/ctrl/...``, ``/ddfs/...``) and
build the DOM with ``textContent`` only. Routes: ``/`` (the status page), ``/<page>.html`` for the
pages below, ``/css/<file>``, ``/js/<file>``, ``/images/<file>``. Every reply carries a strict
Content-Security-Policy (scripts and styles from this origin only, no inline script), so even a
rendering mistake cannot run markup that arrives in job data.
"""
import os
import re

from aiohttp import web

PAGES = ("index", "job", "config", "ddfs", "tag")
_FILE = r"[A-Za-z0-9_\-]+\.[A-Za-z0-9]+"
_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
          ".png": "image/png", ".svg": "image/svg+xml"}
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


_META = re.compile(r"(\w+): ([^|]*?)\s*(?:\||-->)")
_NAV = re.compile(r"\{nav:(\w+)\}")
_ASSET = re.compile(r"/(?:(?:%s)\.html|(?:css|js|images)/%s)?" % ("|".join(PAGES), _FILE))


def is_asset(path):
    """True for the path of a page or a static file of the pages (served without a token: they
    hold no data)."""
    return _ASSET.fullmatch(path) is not None


PACKAGE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "www")


def www_root(master):
    """The directory holding the pages: ``DISCO_WWW_ROOT`` (by default ``disco/master/www``), or
    the pages installed with this package when that directory has no ``index.html``."""
    root = master.settings.get("DISCO_WWW_ROOT") or PACKAGE_ROOT
    return root if os.path.isfile(os.path.join(root, "index.html")) else PACKAGE_ROOT


def routes(master):
    """The routes of the web pages; register them before any catch-all route."""
    root = www_root(master)

    def serve(*parts):
        path = os.path.join(root, *parts)
        content_type = _TYPES.get(os.path.splitext(path)[1])
        if content_type is None or not os.path.isfile(path):
            raise web.HTTPNotFound(text="not found")
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return web.FileResponse(path, headers={**_HEADERS, "Content-Type": content_type})

    def render(name):
        try:
            with open(os.path.join(root, "layout.html"), encoding="utf-8") as f:
                layout = f.read()
            with open(os.path.join(root, name + ".html"), encoding="utf-8") as f:
                meta, body = f.read().split("\n", 1)
        except (FileNotFoundError, ValueError):
            raise web.HTTPNotFound(text="not found") from None
        fields = dict(_META.findall(meta))
        text = layout.replace("{body}", body)
        for key in ("title", "page"):
            text = text.replace("{%s}" % key, fields.get(key, ""))
        scripts = [n for n in fields.get("scripts", "").split() if re.fullmatch(r"\w+", n)]
        text = text.replace("{scripts}", "".join('<script src="js/%s.js" defer></script>\n' % n
                                                 for n in scripts))
        text = text.replace("{script}", name)
        text = _NAV.sub(lambda m: ' class="active"' if m.group(1) == fields.get("nav") else "", text)
        return web.Response(text=text, headers={**_HEADERS, "Content-Type": "text/html; charset=utf-8"})

    async def index(request):
        return render("index")

    async def page(request):
        return render(request.match_info["page"])

    async def asset(request):
        return serve(request.match_info["dir"], request.match_info["file"])

    pages = "|".join(PAGES)
    return [
        web.get("/", index),
        web.get("/{page:(?:%s)}.html" % pages, page),
        web.get("/{dir:(?:css|js|images)}/{file:%s}" % _FILE, asset),
    ]
