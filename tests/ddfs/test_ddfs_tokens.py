"""Tag tokens (docs/http-api.md#ddfs) over HTTP and through the client's token choice (docs/ddfs.md)."""
import pytest

from ddfs_support import call, ok
from disco.ddfs import DDFS
from disco.error import CommError


def test_a_new_tag_takes_the_request_token_for_both(master, name):
    ok(master, "/ddfs/tag/" + name, [], "POST", token="A")
    assert call(master, "/ddfs/tag/" + name) == (401, "Incorrect or missing token.")
    assert call(master, "/ddfs/tag/" + name, token="B")[0] == 401
    assert ok(master, "/ddfs/tag/" + name, token="A")["urls"] == []
    assert call(master, "/ddfs/tag/" + name, [["u"]], "POST")[0] == 401
    assert call(master, "/ddfs/tag/" + name, method="DELETE", token="B")[0] == 401
    assert ok(master, "/ddfs/tag/%s/ddfs:write-token" % name, token="A") == "A"  # tokens equal
    assert call(master, "/ddfs/tag/%s/ddfs:urls" % name)[0] == 401
    other = {"Authorization": "Basic dXNlcjpB"}      # "user:A": not a token
    assert call(master, "/ddfs/tag/" + name, headers=other)[0] == 401
    assert ok(master, "/ddfs/tag/" + name, method="DELETE", token="A") == "deleted"


def test_read_and_write_tokens_apart(master, name):
    ok(master, "/ddfs/tag/" + name, [], "POST", token="W")
    ok(master, "/ddfs/tag/%s/ddfs:read-token" % name, "R", "PUT", token="W")
    assert ok(master, "/ddfs/tag/" + name, token="R")["urls"] == []
    assert ok(master, "/ddfs/tag/" + name, token="W")["urls"] == []       # the writer may read
    assert call(master, "/ddfs/tag/" + name)[0] == 401
    assert call(master, "/ddfs/tag/" + name, [["u"]], "POST", token="R")[0] == 401
    ok(master, "/ddfs/tag/" + name, [["u"]], "POST", token="W")
    assert ok(master, "/ddfs/tag/%s/ddfs:read-token" % name, token="R") == "R"
    assert call(master, "/ddfs/tag/%s/ddfs:write-token" % name, token="R")[0] == 401
    assert ok(master, "/ddfs/tag/%s/ddfs:write-token" % name, token="W") == "W"


def test_a_write_token_alone_leaves_reading_open(master, name):
    ok(master, "/ddfs/tag/" + name, [["u"]], "POST")
    ok(master, "/ddfs/tag/%s/ddfs:write-token" % name, "W", "PUT")
    assert ok(master, "/ddfs/tag/" + name)["urls"] == [["u"]]
    assert call(master, "/ddfs/tag/%s/a" % name, "v", "PUT")[0] == 401
    assert call(master, "/ddfs/tag/%s/ddfs:write-token" % name)[0] == 401
    ok(master, "/ddfs/tag/%s/a" % name, "v", "PUT", token="W")
    assert call(master, "/ddfs/tag/%s/ddfs:write-token" % name, "X", "PUT")[0] == 401


def test_client_token_choice(master, name, monkeypatch):
    ddfs = DDFS()
    ddfs.tag(name, [["u"]], token="T")
    with pytest.raises(CommError) as e:
        ddfs.get(name)
    assert e.value.code == 401
    assert ddfs.exists(name) and not ddfs.exists(name + ":missing")
    assert ddfs.urls("tag://t:T@/" + name) == [["u"]]          # token in the URL
    assert ddfs.urls("tag://T@/" + name) == [["u"]]
    assert ddfs.get(name, token="T")["urls"] == [["u"]]
    monkeypatch.setenv("DDFS_READ_TOKEN", "T")
    assert DDFS().urls(name) == [["u"]]
    with pytest.raises(CommError):
        DDFS().tag(name, [["v"]])                             # writes use DDFS_WRITE_TOKEN
    monkeypatch.setenv("DDFS_WRITE_TOKEN", "T")
    DDFS().tag(name, [["v"]])
    assert DDFS().urls(name) == [["v"], ["u"]]


def test_deleting_ddfs_attributes_unsets_them(master, name):
    """Issue 14.2: as in Disco 0.5, deleting a token sets it to null, deleting ddfs:urls to []."""
    ok(master, "/ddfs/tag/" + name, [["u"]], "POST", token="W")
    ok(master, "/ddfs/tag/%s/ddfs:read-token" % name, "R", "PUT", token="W")
    assert call(master, "/ddfs/tag/%s/ddfs:read-token" % name, method="DELETE", token="R")[0] == 401
    assert ok(master, "/ddfs/tag/%s/ddfs:read-token" % name, method="DELETE", token="W") == "deleted"
    assert ok(master, "/ddfs/tag/%s/ddfs:read-token" % name, token="W") is None
    assert ok(master, "/ddfs/tag/" + name)["urls"] == [["u"]]                # reading is open again
    assert ok(master, "/ddfs/tag/%s/ddfs:urls" % name, method="DELETE", token="W") == "deleted"
    assert ok(master, "/ddfs/tag/" + name)["urls"] == []
    assert call(master, "/ddfs/tag/%s/a" % name, "v", "PUT")[0] == 401
    ok(master, "/ddfs/tag/%s/ddfs:write-token" % name, method="DELETE", token="W")
    ok(master, "/ddfs/tag/%s/a" % name, "v", "PUT")                           # writing too
    assert call(master, "/ddfs/tag/%s/ddfs:id" % name, method="DELETE")[0] == 404


def test_client_delattr_of_a_token(master, name):
    """Disco 0.5's test_ddfs DDFSAuthTestCase.test_write_noread3 through our client."""
    ddfs = DDFS()
    ddfs.tag(name, [["u"]], token="wtr")
    ddfs.setattr(name, "ddfs:read-token", "r", token="wtr")
    with pytest.raises(CommError) as e:
        ddfs.getattr(name, "ddfs:urls")
    assert e.value.code == 401
    ddfs.delattr(name, "ddfs:read-token", token="wtr")
    assert ddfs.getattr(name, "ddfs:urls") == [["u"]]
