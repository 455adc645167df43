"""Job submission: every validation error of a malformed job pack, and the size/refusal limits."""
import json
import socket
import struct

import pytest

from master_support import call, get_json, jobdict, jobhome, jobpack, submit


def raw_pack(dict_bytes, envs_bytes=b"{}", home=b"", data=b"", version=2, offsets=None):
    """A job pack assembled by hand, so that its parts may be wrong."""
    envs_at = 128 + len(dict_bytes)
    home_at = envs_at + len(envs_bytes)
    data_at = home_at + len(home)
    header = struct.pack("!IIIII", 0xd5c00000 | version, *(offsets or (128, envs_at, home_at, data_at)))
    return header + b"\0" * (128 - len(header)) + dict_bytes + envs_bytes + home + data


def pack_with(version=2, drop=(), **fields):
    jd = jobdict(version, **fields)
    for key in drop:
        del jd[key]
    return raw_pack(json.dumps(jd).encode(), version=version)


GOOD = json.dumps(jobdict()).encode()

CASES = {
    "bad magic": (b"\x12\x34" + raw_pack(GOOD)[2:], "invalid header"),
    "short": (raw_pack(GOOD)[:100], "invalid header"),
    "dict offset": (raw_pack(GOOD, offsets=(132, 200, 200, 200)), "invalid header"),
    "envs before dict": (raw_pack(GOOD, offsets=(128, 100, 200, 200)), "invalid header"),
    "truncated": (raw_pack(GOOD)[:-1], "invalid header"),
    "version 3": (raw_pack(GOOD, version=3), "unsupported version"),
    "bad json": (raw_pack(b"{not json"), "invalid job pack"),
    "dict not object": (raw_pack(b"[1, 2]"), "invalid job pack"),
    "bad jobenvs": (raw_pack(GOOD, b'{"A": 1}'), "invalid job pack"),
    "no prefix": (pack_with(drop=["prefix"]), "jobpack missing key 'prefix'"),
    "no worker": (pack_with(drop=["worker"]), "jobpack missing key 'worker'"),
    "no owner": (pack_with(drop=["owner"]), "jobpack missing key 'owner'"),
    "no scheduler": (pack_with(drop=["scheduler"]), "jobpack missing key 'scheduler'"),
    "no pipeline": (pack_with(drop=["pipeline"]), "jobpack missing key 'pipeline'"),
    "no inputs": (pack_with(drop=["inputs"]), "jobpack missing key 'inputs'"),
    "v1 no input": (pack_with(1, drop=["input"]), "jobpack missing key 'input'"),
    "v1 no nr_reduces": (pack_with(1, drop=["nr_reduces"]), "jobpack missing key 'nr_reduces'"),
    "prefix slash": (pack_with(prefix="a/b"), "invalid prefix"),
    "prefix dot": (pack_with(prefix="a.b"), "invalid prefix"),
    "prefix empty": (pack_with(prefix=""), "invalid prefix"),
    "prefix space": (pack_with(prefix="a b"), "invalid prefix"),
    "prefix not str": (pack_with(prefix=5), "invalid prefix"),
    "worker escapes": (pack_with(worker="../w"), "invalid worker"),
    "worker absolute": (pack_with(worker="/bin/sh"), "invalid worker"),
    "scheduler list": (pack_with(scheduler=[]), "invalid scheduler"),
    "max_cores 0": (pack_with(scheduler={"max_cores": 0}), "invalid scheduler"),
    "save_results str": (pack_with(save_results="yes"), "invalid save_results"),
    "save_info": (pack_with(save_info="s3"), "invalid save_info"),
    "save_results hdfs": (pack_with(save_results=True, save_info="hdfs,nn:50070,u,/d"),
                          "save_info 'hdfs' is not supported"),
    "pipeline not list": (pack_with(pipeline={}), "invalid pipeline"),
    "bad grouping": (pack_with(pipeline=[["map", "split_all", False]]), "invalid pipeline"),
    "duplicate stage": (pack_with(pipeline=[["s", "split", False], ["s", "group_all", False]]),
                        "invalid pipeline"),
    "stage named input": (pack_with(pipeline=[["input", "split", False]]), "invalid pipeline"),
    "concurrent not bool": (pack_with(pipeline=[["map", "split", 0]]), "invalid pipeline"),
    "stage too short": (pack_with(pipeline=[["map", "split"]]), "invalid pipeline"),
    "bare url input": (pack_with(inputs=["raw://a"]), "invalid inputs"),
    "url not in list": (pack_with(inputs=[[0, 0, "raw://a"]]), "invalid inputs"),
    "label not int": (pack_with(inputs=[["0", 0, ["raw://a"]]]), "invalid inputs"),
    "no replicas": (pack_with(inputs=[[0, 0, []]]), "invalid inputs"),
    "v1 input not list": (pack_with(1, input="raw://a"), "invalid input"),
    "v1 bad item": (pack_with(1, input=[5]), "invalid input"),
    "v1 empty replicas": (pack_with(1, input=[[]]), "invalid input"),
    "v1 map? not bool": (pack_with(1, **{"map?": "yes"}), "invalid map?"),
    "v1 nr_reduces": (pack_with(1, nr_reduces="1"), "invalid nr_reduces"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_job_packs_are_refused(master, case):
    pack, reason = CASES[case]
    status, headers, body = call(master, "/disco/job/new", pack)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    kind, message = json.loads(body)
    assert kind == "error" and message.startswith("Job failed to start: " + reason), message


def test_refused_jobs_are_not_recorded(master):
    before = get_json(master, "/disco/ctrl/joblist")
    call(master, "/disco/job/new", CASES["bad json"][0])
    assert get_json(master, "/disco/ctrl/joblist") == before


def test_any_job_path_submits(master):
    status, _h, body = call(master, "/disco/job/whatever", jobpack())
    assert status == 200 and json.loads(body)[0] == "ok"


def test_job_pack_above_1_gib_gets_413(master):
    with socket.create_connection(("127.0.0.1", master.port)) as s:
        s.sendall(b"POST /disco/job/new HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % (2 ** 30 + 1))
        assert s.recv(100).startswith(b"HTTP/1.1 413")


def test_control_body_above_32_mib_gets_413(master):
    status, _h, _b = call(master, "/disco/ctrl/kill_job", b"x" * (32 * 2 ** 20 + 1))
    assert status == 413


def test_no_new_jobs_when_refused(master):
    assert get_json(master, "/disco/ctrl/save_settings", {"accept_new_jobs": "0"}) == "Settings saved"
    try:
        status, _h, body = call(master, "/disco/job/new", jobpack())
        assert (status, body) == (403, b"No new jobs should be submitted to this cluster.")
    finally:
        get_json(master, "/disco/ctrl/save_settings", {"accept_new_jobs": "1"})
    submit(master, jobpack(home=jobhome()))
