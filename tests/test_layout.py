"""disco.layout: the formats the master and the workers share (docs/formats/urls.md,
docs/formats/index-files.md)."""
import pytest
from hypothesis import given, strategies as st

from disco import layout


def test_hexhash_is_the_first_byte_of_md5():
    assert layout.hexhash("abc") == "90"          # md5("abc") = 900150983cd24fb0...
    assert layout.hexhash(b"abc") == "90"
    assert layout.hexhash("é") == layout.hexhash("é".encode("utf-8"))


def test_data_urls_and_job_paths():
    hh = layout.hexhash("J@1:2:3")
    assert layout.job_path("n1", "J@1:2:3") == "n1/%s/J@1:2:3" % hh
    assert layout.data_url("disco", "n1", "J@1:2:3", "ab/uid/out") == \
        "disco://n1/disco/n1/%s/J@1:2:3/ab/uid/out" % hh
    assert layout.data_url("dir", "n1", "J@1:2:3", ".disco/map-0-1.results").startswith("dir://n1/disco/n1/")


@given(st.integers(0, 2 ** 40), st.text(st.characters(blacklist_categories=("Cc", "Zs", "Zl", "Zp", "Cs")),
                                         min_size=1), st.integers(0, 2 ** 62))
def test_index_lines_round_trip(label, url, size):
    url = "disco://h/" + "".join(url.split())
    assert layout.parse_index_line(layout.index_line(label, url, size)) == (label, url, size)


def test_index_entries_skip_blank_lines_and_take_the_first_replica():
    text = "0 disco://a/x 5\n\n  \n1 disco://a/y disco://b/y 7\n"
    assert list(layout.index_entries(text)) == [(1, (0, "disco://a/x", 5)), (4, (1, "disco://a/y", 7))]


@pytest.mark.parametrize("line, message", [
    ("0 disco://a/x", "got 2 field"),
    ("zero disco://a/x 5", "must be integers"),
    ("0 disco://a/x five", "must be integers"),
])
def test_bad_index_lines_name_the_line(line, message):
    with pytest.raises(ValueError, match=message):
        layout.parse_index_line(line)
    with pytest.raises(ValueError, match="line 2 is %r" % line):
        list(layout.index_entries("0 u 1\n" + line + "\n"))


def test_the_locality_rule():
    roots = {"disco": "/data", "ddfs": "/ddfs"}
    assert layout.locate("disco://h/disco/n/ab/j/f", roots, 8989) == ("/data/n/ab/j/f", "http://h:8989/disco/n/ab/j/f")
    assert layout.locate("dir://h:7000/ddfs/n/vol0/x", roots, 8989) == ("/ddfs/n/vol0/x", "http://h:7000/ddfs/n/vol0/x")
    assert layout.locate("disco://u:t@h/disco/n/f", roots, 1) == ("/data/n/f", "http://h:1/disco/n/f")
    # another top, a path escaping the root, an empty rest, a missing root: HTTP only
    for url in ("disco://h/other/f", "disco://h/disco/n/../../etc/passwd", "disco://h/disco/", "disco://h/ddfs/x"):
        local, http = layout.locate(url, {"disco": "/data", "ddfs": ""}, 80)
        assert local is None and http.startswith("http://h:80/")
