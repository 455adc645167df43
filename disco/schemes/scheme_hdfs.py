"""``hdfs://<namenode:port>:/<absolute path>``: a file read through the namenode's WebHDFS REST
API (``http://<namenode:port>/webhdfs/v1/<path>?op=OPEN``, which redirects to a datanode)."""
from disco.comm import open_url
from disco.error import DataError
from disco.util import schemesplit


def webhdfs_url(url):
    """The WebHDFS ``OPEN`` URL of an ``hdfs://`` URL."""
    namenode, sep, path = schemesplit(url)[1].partition(":/")
    if not sep or ":" not in namenode:
        raise DataError("Invalid HDFS URL: expected hdfs://<namenode:port>:/<path>", url)
    return "http://%s/webhdfs/v1/%s?op=OPEN" % (namenode, path.lstrip("/"))


def open(url, task=None):
    return open_url(webhdfs_url(url))


def input_stream(fd, size, url, params):
    conn = open(url)
    return conn, conn.size, url
