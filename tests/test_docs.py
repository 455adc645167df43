"""The documentation the code cites exists: every ``docs/<page>.md#<anchor>`` named in the
sources, and every relative link between the pages, resolves to a page and one of its headings."""
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CITATION = re.compile(r"docs/([\w./-]+\.md)(?:#([\w-]+))?")
OLD_CITATION = "SPEC \u00a7"   # sections of a document outside the repository
LINK = re.compile(r"\]\(([\w./-]+\.md)(?:#([\w-]+))?\)")


def anchors(page):
    """GitHub-style anchors of the headings of ``page``."""
    with open(page, encoding="utf-8") as f:
        headings = [line.lstrip("#").strip() for line in f if line.startswith("#")]
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def sources():
    for top in ("disco", "src", "tests", "benchmarks", "examples"):
        for root, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith((".py", ".pyx")):
                    yield os.path.join(root, name)


def broken(references):
    """The ``(where, page, anchor)`` of ``references`` whose page or anchor does not exist."""
    bad = []
    for where, page, anchor in references:
        if not os.path.isfile(page):
            bad.append((where, page, anchor))
        elif anchor and anchor not in anchors(page):
            bad.append((where, page, anchor))
    return bad


def test_the_code_cites_pages_and_sections_that_exist():
    references = []
    for path in sources():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert OLD_CITATION not in text or path.endswith(_NOT_YET), (
            "%s cites sections of a SPEC outside the repository: cite the docs/ pages instead "
            "(docs/README.md lists them)" % path)
        references += [(path, os.path.join(REPO, "docs", page), anchor)
                       for page, anchor in CITATION.findall(text)]
    assert len(references) > 40
    assert broken(references) == []


def test_links_between_pages_resolve():
    references = []
    docs = os.path.join(REPO, "docs")
    for root, _dirs, files in os.walk(docs):
        for name in files:
            if name.endswith(".md"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    references += [(path, os.path.normpath(os.path.join(root, page)), anchor)
                                   for page, anchor in LINK.findall(f.read())]
    assert len(references) > 20
    assert broken(references) == []


# sources still citing the outside SPEC (none: every source cites docs/ now)
_NOT_YET = ()
