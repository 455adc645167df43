"""The master's web pages (docs/http-api.md#web-pages) in headless Chromium, against real masters running real jobs."""
import json
import os
import re
import types
from urllib.parse import quote

import requests
try:
    from playwright.sync_api import expect
except ImportError:     # the browser fixture skips the tests, saying why (conftest.py)
    expect = None

from disco.core import Disco
from disco.job import Job
from disco.master import webui

from . import webjobs
from .conftest import STUB_JOB, STUB_TAGS, api, wait_for

NONZERO = re.compile(r"^[1-9][0-9]*$")


def job_page(page, master, name):
    page.goto("%s/job.html?name=%s" % (master.url, quote(name, safe="")))
    expect(page.locator("#jobname")).to_have_text(name)


def run_job(master, prefix, map, inputs=("raw://x",)):
    """Submit a map-only job (``prefix``, ``map`` over ``inputs``) to ``master``."""
    return Job(name=prefix, master=master.url).run(input=list(inputs), map=map, partitions=None)


def start_hanging_job(master, tmp_path, prefix):
    """A job whose only task runs until killed; returns (job, pid file)."""
    pidfile = tmp_path / (prefix + ".pid")
    return run_job(master, prefix, webjobs.hang_map, ["raw://%s" % pidfile]), pidfile


def jobinfo(master, name):
    return api(master, "jobinfo", params={"name": name})


def process_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open("/proc/%d/stat" % pid) as f:      # a zombie is gone too
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_pages_and_assets_are_served(master):
    pages = [(path, "text/html") for path in ("/", "/index.html", "/job.html", "/config.html", "/ddfs.html",
                                                "/tag.html")]
    for path, kind in pages + [("/css/disco.css", "text/css"), ("/js/common.js", "text/javascript"),
                               ("/js/job.js", "text/javascript"), ("/images/logo.svg", "image/svg+xml")]:
        reply = requests.get(master.url + path)
        assert reply.status_code == 200, path
        assert reply.headers["Content-Type"].startswith(kind), path
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
    # one layout: the shared head and navigation, each page's own title, script and current link
    active = {"index": "./", "job": None, "config": "config.html", "ddfs": "ddfs.html", "tag": "ddfs.html"}
    for name, current in active.items():
        html = requests.get("%s/%s.html" % (master.url, name)).text
        assert html.startswith("<!DOCTYPE html>") and '<script src="js/%s.js" defer>' % name in html, name
        assert re.findall(r'<a href="([^"]+)"[^>]*>(?:Status|Configure|DDFS)</a>', html) == [
            "./", "config.html", "ddfs.html"], name
        assert re.findall(r'<a href="([^"]+)" class="active">', html) == ([current] if current else []), name
        assert "{" not in html.split("<body", 1)[0] and "<!-- title:" not in html, name
    for path in ("/nothing.html", "/js/nothing.js", "/js/..%2Fjob.html", "/css/.hidden", "/www/index.html",
                 "/layout.html"):
        assert requests.get(master.url + path).status_code == 404, path
    assert requests.get(master.url + "/disco/version").status_code == 200   # the API is untouched
    # no asset from elsewhere: every src/href of the pages is relative to the master
    for name in ("index", "job", "config", "ddfs", "tag"):
        html = requests.get("%s/%s.html" % (master.url, name)).text
        assert not re.search(r'(src|href)="(https?:)?//', html), name


def test_www_root_falls_back_to_the_installed_pages(tmp_path):
    master = types.SimpleNamespace(settings={"DISCO_WWW_ROOT": str(tmp_path)})
    assert webui.www_root(master) == webui.PACKAGE_ROOT
    (tmp_path / "index.html").write_text("mine")
    assert webui.www_root(master) == str(tmp_path)
    assert all(os.path.isfile(os.path.join(webui.PACKAGE_ROOT, p + ".html")) for p in webui.PAGES)


def test_job_page_shows_a_running_job_then_its_results(master, page, shot):
    job = run_job(master, "webprogress", webjobs.slow_map, ["raw://one", "raw://two"])
    requests_seen = []
    page.on("request", lambda r: requests_seen.append(r.url) if "/disco/ctrl/jobinfo" in r.url else None)
    job_page(page, master, job.name)
    expect(page.locator("#jobstatus")).to_have_text("active")
    expect(page.locator("#live")).to_be_visible()
    expect(page.locator("#info-ended")).to_have_text("–")
    expect(page.locator("#tasks tbody tr.task.running").first).to_contain_text("localhost")
    running_bars = page.locator("#timeline rect.attempt.running")       # the timeline is live
    expect(running_bars.first).to_be_visible()
    expect(page.locator("#timeline line.now")).to_have_count(1)
    map_row = page.locator('#stages tbody tr[data-stage="map"]')
    expect(map_row.locator("td.running")).to_have_text(NONZERO)
    assert map_row.locator(".seg.running").evaluate("e => parseFloat(e.style.width)") > 0
    expect(page.locator("#hosts .hostlink").first).to_have_text(re.compile("^localhost"))
    expect(page.locator("#info-owner")).to_have_text(jobinfo(master, job.name)["owner"])
    expect(page.locator("#inputs li")).to_have_text(["raw://one", "raw://two"])
    shot(page, "job-running")

    expect(page.locator("#jobstatus")).to_have_text("ready", timeout=30000)
    expect(map_row.locator("td.done")).to_have_text("2")
    info = jobinfo(master, job.name)
    expect(page.locator("#info-ended")).to_have_text(info["ended"])
    expect(page.locator("#info-duration")).to_have_text(re.compile(r"^\d+(\.\d+)? s$|min"))
    assert [page.evaluate("(s) => Disco.formatDuration(s)", s) for s in (0.371, 4.2, 75, 3725)] == \
        ["0.37 s", "4.2 s", "1 min 15 s", "1 h 2 min 5 s"]
    expect(page.locator("#tasks tbody")).to_contain_text("Every task is done")
    expect(page.locator("#timeline rect.attempt.done.stage-0")).to_have_count(2)
    expect(running_bars).to_have_count(0)
    expect(page.locator("#timeline line.now")).to_have_count(0)
    expect(map_row.locator("td.running")).to_have_text("0")
    assert map_row.locator(".seg.done").evaluate("e => e.style.width") == "100%"
    expect(page.locator("#live")).to_be_hidden()
    expect(page.locator("#kill")).to_be_disabled()
    status, results = Disco(master.url).results(job.name)
    assert status == "ready" and results
    expect(page.locator("#results li > a")).to_have_text([replicas[0] for replicas in results])
    href = page.locator("#results li > a").first.get_attribute("href")
    assert requests.get(href).status_code == 200          # result links are browsable
    expect(page.locator("#events li.ready .message")).to_have_text(re.compile("^READY"))
    events = page.locator("#events li .message").all_text_contents()
    assert any("map:0 assigned to localhost" in e for e in events)

    # the event filter asks the master; the host filter keeps one host's events
    page.fill("#eventfilter", "map:1 ASSIGNED")
    expect(page.locator("#events li .message")).to_have_text(["map:1 assigned to localhost"])
    page.fill("#eventfilter", "")
    expect(page.locator("#events li .hostlink", has_text="master").first).to_be_visible()
    page.locator("#events li .hostlink", has_text="localhost").first.click()
    expect(page.locator("#hostfilter")).to_be_visible()
    hosts = set(page.locator("#events li .hostlink").all_text_contents())
    assert hosts == {"localhost"}
    page.click("#hostfilterclear")
    expect(page.locator("#events li .hostlink", has_text="master").first).to_be_visible()
    shot(page, "job-ready")

    # the page stops polling once the job has ended
    polled = len(requests_seen)
    page.wait_for_timeout(3200)
    assert len(requests_seen) == polled


def test_job_page_timeline_shows_every_attempt(master, page, shot, tmp_path):
    marker = tmp_path / "flaky-marker"
    job = Job(name="webtimeline", master=master.url).run(
        input=["raw://%s" % marker, "raw://x", "raw://y"], map=webjobs.flaky_map,
        reduce=webjobs.count_reduce)
    job.wait()
    job_page(page, master, job.name)
    expect(page.locator("#jobstatus")).to_have_text("ready")
    reply = api(master, "jobattempts", params={"name": job.name})
    stages = [stage[0] for stage in jobinfo(master, job.name)["pipeline"]]
    attempts = reply["attempts"]
    assert len(stages) >= 2 and {a[0] for a in attempts} >= {"map", stages[-1]}
    bars = page.locator("#timeline rect.attempt")
    expect(bars).to_have_count(len(attempts))                  # one bar per attempt
    expect(page.locator("#attemptcount")).to_have_text(str(len(attempts)))
    for stage, taskid, attempt, node, _start, _end, outcome in attempts:
        bar = page.locator('#timeline rect.attempt[data-task="%s:%d"][data-attempt="%d"]' % (stage, taskid, attempt))
        expect(bar).to_have_class(re.compile(r"\bstage-%d\b.*\b%s\b" % (stages.index(stage), outcome)))
        assert bar.get_attribute("data-node") == node == "localhost"
    (failed,) = [a for a in attempts if a[6] == "failed"]      # the first attempt of the flaky task
    assert failed[0] == "map" and failed[2] == 1
    marked = page.locator("#timeline rect.attempt.marked")
    expect(marked).to_have_count(1)
    assert marked.get_attribute("data-task") == "map:%d" % failed[1]
    expect(page.locator("#timeline rect.failmark")).to_have_count(1)
    tooltip = marked.locator("title").text_content()
    assert "map:%d, attempt 1 on localhost" % failed[1] in tooltip and tooltip.endswith("failed")
    retried = page.locator('#timeline rect.attempt[data-task="map:%d"][data-attempt="2"]' % failed[1])
    expect(retried).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#timeline .legend")).to_contain_text(stages[0])
    expect(page.locator("#timeline .nodename")).to_have_text(["localhost"])
    assert page.locator("#timeline .lane").count() <= 2        # the node's 2 slots at most
    shot(page, "job-timeline")

    retried.click()                                            # a bar shows its task's events
    expect(page.locator("#eventfilter")).to_have_value("map:%d" % failed[1])
    expect(page.locator("#events li .message", has_text="flaky: first attempt fails").first).to_be_visible()


def test_kill_from_the_job_page(master, page, dialogs, shot, tmp_path):
    job, pidfile = start_hanging_job(master, tmp_path, "webkill")
    job_page(page, master, job.name)
    expect(page.locator('#stages tr[data-stage="map"] td.running')).to_have_text("1")
    expect(page.locator("#timeline .lane")).to_have_count(2)   # while live, the idle slot shows too
    pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text(), what="the worker's pid"))

    dialogs.answer(False)                                      # cancelling the confirmation kills nothing
    page.click("#kill")
    wait_for(lambda: dialogs.seen, what="the confirm dialog")
    assert dialogs.seen[0][0] == "confirm" and job.name in dialogs.seen[0][1]
    page.wait_for_timeout(500)
    assert jobinfo(master, job.name)["active"] == "active"

    dialogs.answer(True)
    page.click("#kill")
    expect(page.locator("#jobstatus")).to_have_text("dead", timeout=15000)
    assert len(dialogs.seen) == 2
    expect(page.locator("#tasks tbody tr.task")).to_have_count(1)           # the killed task
    expect(page.locator("#timeline rect.attempt.killed")).to_have_count(1)  # its attempt, ended
    expect(page.locator("#timeline rect.attempt.running")).to_have_count(0)
    expect(page.locator("#timeline .lane")).to_have_count(1)   # ended: the lanes it used
    expect(page.locator('#stages tr[data-stage="map"] td.waiting')).to_have_text("0")
    assert jobinfo(master, job.name)["active"] == "dead"
    expect(page.locator("#events li.warning .message").first).to_contain_text("Job killed")
    expect(page.locator("#live")).to_be_hidden()
    expect(page.locator("#kill")).to_be_disabled()
    expect(page.locator("#joblist li.job", has_text=job.name)).to_have_class(re.compile(r"\bdead\b"))
    wait_for(lambda: process_gone(pid), what="the killed worker to exit")
    wait_for(lambda: "tasks" not in api(master, "nodeinfo")["localhost"], what="the slot to be free")
    shot(page, "job-killed")


def test_purge_from_the_job_page(master, page, dialogs):
    job = run_job(master, "webpurge", webjobs.quick_map)
    job.wait()
    job_page(page, master, job.name)
    expect(page.locator("#jobstatus")).to_have_text("ready")
    dialogs.answer(True)
    page.click("#purge")
    page.wait_for_url(master.url + "/")
    assert "delete" in dialogs.seen[0][1].lower() and job.name in dialogs.seen[0][1]
    assert requests.get(master.url + "/disco/ctrl/jobinfo", params={"name": job.name}).status_code == 404
    job_page(page, master, job.name)                           # a purged job is an unknown job
    expect(page.locator("#unknown")).to_contain_text("Unknown job")


def test_job_names_and_events_render_as_text(master, page, dialogs, shot):
    # The master accepts any prefix without '/' or '.', so markup can reach the pages in job
    # names; a whole <script>...</script> or an <img ...> (which needs spaces, which jobs do not
    # survive) fits only in event messages, which a map writes by printing.
    name_prefix = "<script>alert(1)<b>x"
    job = run_job(master, name_prefix, webjobs.markup_map)
    assert job.name.startswith(name_prefix)
    job.wait()
    job_page(page, master, job.name)
    expect(page.locator("#jobstatus")).to_have_text("ready")
    expect(page.locator("#events li .message", has_text=webjobs.PAYLOAD)).to_have_count(1)
    assert job.name in page.title()
    markup = "#jobname *, #events img, #events script, #events b, #joblist b, #joblist script"
    assert page.locator(markup).count() == 0
    expect(page.locator("#joblist a", has_text=name_prefix)).to_have_text(job.name)
    expect(page.locator("#results li > a")).to_have_count(1)
    shot(page, "job-markup-as-text")

    page.goto(master.url + "/")
    link = page.locator("#joblist a", has_text=name_prefix)
    expect(link).to_have_text(job.name)
    link.click()                                               # the link survives the encoding
    expect(page.locator("#jobname")).to_have_text(job.name)
    expect(page.locator("#jobstatus")).to_have_text("ready")
    assert dialogs.seen == []                                  # nothing ran alert()
    assert page.evaluate("document.querySelectorAll('img:not([src$=\"logo.svg\"])').length") == 0


def test_status_page_lists_nodes_and_jobs(master, page, shot, tmp_path):
    done = run_job(master, "webdone", webjobs.quick_map)
    done.wait()
    busy, pidfile = start_hanging_job(master, tmp_path, "webbusy")
    try:
        page.goto(master.url + "/")
        node = page.locator('.node[data-host="localhost"]')
        expect(node.locator(".hostname")).to_have_text("localhost")
        expect(page.locator(".node")).to_have_count(len(api(master, "nodeinfo")))
        expect(node.locator(".slot")).to_have_count(2)
        busy_slot = node.locator(".slot.busy")
        expect(busy_slot).to_have_count(1, timeout=10000)
        assert busy_slot.get_attribute("data-job") == busy.name
        expect(node.locator(".slotcount")).to_have_text("1 / 2 slots busy")
        expect(node.locator(".disktext")).to_contain_text("free")
        expect(node.locator("td.ok")).to_have_text(NONZERO)        # the finished jobs' tasks

        jobs = page.locator("#joblist li.job")
        expect(jobs.filter(has_text=busy.name)).to_have_class(re.compile(r"\bactive\b"))
        rows = {row[2]: row for row in api(master, "joblist", params={"times": "1"})}
        for job, running in ((done, False), (busy, True)):         # each job's start and duration
            item = jobs.filter(has_text=job.name)
            started = page.evaluate("(s) => Disco.formatTime(s)", rows[job.name][0])
            expect(item.locator(".times .started")).to_have_text(started)
            expect(item.locator(".times .duration")).to_have_text(
                re.compile(r"^running \d" if running else r"^(\d+ min )?\d+(\.\d+)? s$"))
        expect(jobs.filter(has_text=done.name)).to_have_class(re.compile(r"\bready\b"))
        expect(page.locator("#jobcount")).to_have_text(str(len(api(master, "joblist"))))
        jobs.filter(has_text=busy.name).hover()                     # hovering a job lights its slots
        expect(busy_slot).to_have_class(re.compile(r"\bhl\b"))
        page.mouse.move(0, 0)
        expect(busy_slot).not_to_have_class(re.compile(r"\bhl\b"))
        shot(page, "status")

        busy_slot.click()                                           # a slot filters the job list
        expect(page.locator("#jobfilter")).to_have_value(busy.name)
        expect(jobs).to_have_count(1)
        page.fill("#jobfilter", "webdone")                          # live text filter
        expect(jobs).to_have_count(1)
        expect(jobs.locator("a")).to_have_text(done.name)
        page.fill("#jobfilter", "no such job")
        expect(page.locator("#joblist li.empty")).to_have_text("No matching jobs")
        page.fill("#jobfilter", "")
        jobs.filter(has_text=done.name).locator("a").click()
        expect(page.locator("#jobname")).to_have_text(done.name)

        page.goto(master.url + "/")
        version = requests.get(master.url + "/disco/version").json()
        expect(page.locator("#version")).to_have_text("Disco " + version)
    finally:
        Disco(master.url).kill(busy.name)


def test_status_page_with_ddfs(ddfs_stub, page, shot):
    page.goto(ddfs_stub.url + "/")
    expect(page.locator("#gcstatus")).to_have_text("idle")
    stats = page.locator("table.gcstats")
    expect(stats.locator("tr", has_text="Blobs kept")).to_have_text(re.compile(r"kept\s*340\s*5\.0 GB"))
    expect(stats.locator("tr", has_text="Tags del")).to_have_text(re.compile(r"Tags deleted\s*1\s*200 B"))
    page.click("#gcstart")
    expect(page.locator("#gcmessages")).to_contain_text("GC has started")
    expect(page.locator("#gcstatus")).to_have_text("build_map")
    expect(page.locator("#gcstart")).to_be_disabled()
    node_a, node_b = page.locator('.node[data-host="nodeA"]'), page.locator('.node[data-host="nodeB"]')
    expect(node_a).to_have_class(re.compile(r"\bblacklisted\b"))
    expect(node_a.locator(".badge")).to_have_text(["blacklisted"])
    expect(node_a.locator(".slot")).to_have_count(3)
    assert node_a.locator(".slot.busy").get_attribute("data-job") == STUB_JOB
    expect(node_a.locator(".counters td")).to_have_text(["5", "1", "2"])
    assert node_a.locator(".disk .used").evaluate("e => e.style.width") == "75%"
    expect(node_b).to_have_class(re.compile(r"\bdisconnected\b"))
    expect(node_b.locator(".badge")).to_have_text(["disconnected"])
    expect(node_b.locator(".disk")).to_have_text("disk: unknown")
    expect(page.locator("#joblist a")).to_have_text([STUB_JOB])
    assert page.locator("#joblist i, #nodes i").count() == 0
    shot(page, "status-ddfs")


def test_config_page_edits_the_node_table(fresh_master, page, shot):
    master = fresh_master(config=[["localhost", "2"]])
    page.goto(master.url + "/config.html")
    rows = page.locator("#nodetable tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator(".spec")).to_have_value("localhost")
    expect(rows.nth(0).locator(".workers")).to_have_value("2")

    page.click("#addrow")
    rows.nth(1).locator(".spec").fill("node01:03")
    rows.nth(1).locator(".workers").fill("4")
    page.click("#savetable")
    expect(page.locator("#tablemessages")).to_contain_text("table saved!")
    assert api(master, "load_config_table") == [["localhost", "2"], ["node01:03", "4"]]
    nodes = api(master, "nodeinfo")
    assert sorted(nodes) == ["localhost", "node01", "node02", "node03"]
    assert nodes["node02"]["max_workers"] == 4

    page.click("#addrow")                                       # a bad table is refused, with the reason
    rows.nth(2).locator(".spec").fill("node02")
    rows.nth(2).locator(".workers").fill("1")
    page.click("#savetable")
    expect(page.locator("#tablemessages .flash.error")).to_contain_text("duplicate nodes")
    assert api(master, "load_config_table") == [["localhost", "2"], ["node01:03", "4"]]
    expect(rows).to_have_count(3)                               # the edits stay, to be fixed
    rows.nth(2).locator(".remove").click()
    expect(rows).to_have_count(2)

    # Disco blacklist: add from the box, click to whitelist
    page.fill("#blacklisthost", "node02")
    page.click("#blacklistadd")
    expect(page.locator("#blacklist .hostentry")).to_have_text(["node02×"])
    assert api(master, "get_blacklist") == ["node02"]
    assert api(master, "nodeinfo")["node02"]["blacklisted"] is True
    page.goto(master.url + "/")                                  # the status page shows it
    expect(page.locator('.node[data-host="node02"]')).to_have_class(re.compile(r"\bblacklisted\b"))
    expect(page.locator(".node")).to_have_count(4)
    page.go_back()
    page.fill("#blacklisthost", "nosuchnode")
    page.click("#blacklistadd")
    expect(page.locator("#blacklistmessages .flash.error")).to_contain_text("nosuchnode")
    # DDFS blacklist
    page.fill("#gcblacklisthost", "node03")
    page.press("#gcblacklisthost", "Enter")
    expect(page.locator("#gcblacklist .hostentry")).to_have_text(["node03×"])
    assert api(master, "get_gc_blacklist") == ["node03"]
    # settings: strings in, numbers out
    expect(page.locator("#maxfailures")).not_to_have_value("")
    page.fill("#maxfailures", "7")
    page.select_option("#acceptjobs", "0")
    page.click("#savesettings")
    expect(page.locator("#settingsmessages")).to_contain_text("Settings saved")
    assert api(master, "get_settings") == {"max_failure_rate": 7, "accept_new_jobs": 0}
    shot(page, "config")

    page.locator("#blacklist .hostentry", has_text="node02").click()
    expect(page.locator("#blacklist li")).to_have_text(["None"])
    assert api(master, "get_blacklist") == []
    rows.nth(1).locator(".remove").click()                      # remove a row and save
    page.click("#savetable")
    expect(page.locator("#tablemessages .flash").last).to_contain_text("table saved!")
    assert api(master, "load_config_table") == [["localhost", "2"]]
    expect(page.locator("#gcblacklist li")).to_have_text(["None"])   # pruned to configured hosts
    page.reload()
    expect(page.locator("#maxfailures")).to_have_value("7")
    expect(page.locator("#acceptjobs")).to_have_value("0")


def test_pages_without_ddfs(no_ddfs_stub, page, shot):
    page.goto(no_ddfs_stub.url + "/")
    expect(page.locator("#gcunavailable")).to_have_text("DDFS not available")
    expect(page.locator("#gcbox")).to_be_hidden()
    expect(page.locator(".node")).to_have_count(2)              # the rest of the page works
    shot(page, "status-without-ddfs")
    page.goto(no_ddfs_stub.url + "/ddfs.html")
    expect(page.locator("#unavailable")).to_have_text("DDFS not available")
    expect(page.locator("#prefix")).to_be_hidden()
    page.goto(no_ddfs_stub.url + "/tag.html?tag=anything")
    expect(page.locator("#problem")).to_have_text("DDFS not available")


def test_ddfs_browser_on_the_master(master, page, shot):
    urls = [["disco://localhost/ddfs/vol0/blob/00/web-part$5f1-1-1"], ["tag://web:other"]]
    for path, value in [("web:data", urls), ("web:data/owner", "<b>bob</b>"), ("web:other", []),
                        ("web:data/ddfs:write-token", "SECRET-W"), ("unrelated", [])]:
        reply = requests.put(master.url + "/ddfs/tag/" + path, data=json.dumps(value))
        assert reply.status_code == 200, (path, reply.text)
    page.goto(master.url + "/ddfs.html?prefix=web:")
    tags = page.locator("#tags li a")
    expect(tags).to_have_text(["web:data", "web:other"])
    page.fill("#prefix", "")
    expect(tags).to_have_count(len(requests.get(master.url + "/ddfs/tags").json()))
    page.fill("#prefix", "web:d")
    expect(tags).to_have_text(["web:data"])
    tags.first.click()
    expect(page.locator("#tagname")).to_have_text("web:data")
    expect(page.locator("#tag-id")).to_have_text(re.compile(r"^web:data\$"))
    expect(page.locator("#attrs th")).to_have_text(["owner"])
    expect(page.locator("#attrs td")).to_have_text(["<b>bob</b>"])
    expect(page.locator("#blobs .blobname")).to_have_text(["web-part$5f1-1-1", "web:other"])
    assert "SECRET" not in page.content()
    shot(page, "tag-on-master")
    page.goto(master.url + "/")
    expect(page.locator("#gcbox")).to_be_visible()
    expect(page.locator("#gcstatus")).not_to_have_text("")


def test_ddfs_browser(ddfs_stub, page, dialogs, shot):
    page.goto(ddfs_stub.url + "/ddfs.html")
    tags = page.locator("#tags li a")
    expect(tags).to_have_text(sorted(STUB_TAGS))
    page.fill("#prefix", "data:")
    expect(tags).to_have_count(2)
    expect(page).to_have_url(re.compile(r"prefix=data"))
    page.fill("#prefix", "nothing")
    expect(page.locator("#tags li")).to_have_text(["No tags start with this prefix."])
    page.fill("#prefix", "")
    expect(tags).to_have_count(3)
    shot(page, "ddfs")
    tags.filter(has_text="logs").click()

    expect(page.locator("#tagname")).to_have_text("data:web:logs")
    expect(page.locator("#tag-id")).to_have_text("data:web:logs$5f1-2a-3b")
    expect(page.locator("#tag-blobs")).to_have_text("2")
    expect(page.locator("#attrs tr th")).to_have_text(["owner", "rows"])
    expect(page.locator("#attrs tr td")).to_have_text(["<b>alice</b>", "42"])
    blobs = page.locator("#blobs tr")
    expect(blobs.nth(0).locator(".blobname")).to_have_text("part-0$5f1-1-1")
    expect(blobs.nth(0).locator("li a")).to_have_count(2)
    assert "TOKEN" not in page.locator("body").inner_text()      # tokens are never shown
    shot(page, "tag")
    blobs.nth(1).locator("a").click()                            # tag:// links to the tag page
    expect(page.locator("#tagname")).to_have_text("data:web:other")
    expect(page.locator("#blobs")).to_have_text("No blobs.")

    page.goto(ddfs_stub.url + "/tag.html?tag=" + quote("results:<img src=x onerror=alert(3)>", safe=""))
    expect(page.locator("#tagname")).to_have_text("results:<img src=x onerror=alert(3)>")
    page.goto(ddfs_stub.url + "/tag.html?tag=missing")
    expect(page.locator("#problem")).to_have_text("Tag not found.")
    assert dialogs.seen == []


def test_pages_ask_for_the_access_token_once(fresh_master, page, dialogs):
    master = fresh_master(DISCO_AUTH_TOKEN="web-t0ken")
    version = requests.get(master.url + "/disco/version", headers={"Authorization": "Bearer web-t0ken"}).json()
    dialogs.answer("web-t0ken")
    page.goto(master.url + "/")
    expect(page.locator("#version")).to_have_text("Disco " + version)
    expect(page.locator('.node[data-host="localhost"]')).to_have_count(1)
    page.goto(master.url + "/config.html")                       # the same tab: not asked again
    expect(page.locator("#nodetable tbody tr")).to_have_count(1)
    assert [kind for kind, _message in dialogs.seen] == ["prompt"]
    assert "DISCO_AUTH_TOKEN" in dialogs.seen[0][1]
