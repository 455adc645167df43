"""disco.context: the running task and the client settings, instead of globals and the
environment."""
import threading

from disco import context
from disco.schemes.scheme_disco import locate
from disco.settings import DiscoSettings
from disco.task import Task


def test_client_settings_travel_with_the_work_not_the_environment(disco_env):
    settings = DiscoSettings(DISCO_DATA="/d", DDFS_DATA="/f", DISCO_PORT="1234", DISCO_PROXY="")
    assert context.run_with(settings, locate, "disco://h/disco/n/f") == ("/d/n/f", "http://h:1234/disco/n/f")
    assert context.run_with(settings, locate, "dir://h/ddfs/n/i") == ("/f/n/i", "http://h:1234/ddfs/n/i")
    # outside: the environment's settings (the autouse disco_env fixture), unchanged
    assert context.current_settings() is not settings
    assert locate("disco://h/disco/n/f") == (str(disco_env / "data" / "n" / "f"), "http://h:8989/disco/n/f")


def test_the_task_is_a_context_variable_read_by_the_old_names():
    import disco.worker
    from disco.worker.classic import worker as classic
    task = Task(host="n", jobname="j@1", disco_data="/data", disco_port=7, stage="map", group=[3, "n"])
    token = context.set_task(task)
    try:
        assert disco.worker.active_task is task and classic.Task is task
        assert (classic.this_name(), classic.this_host(), classic.this_partition()) == ("j@1", "n", 3)
        assert locate("disco://n/disco/x") == ("/data/x", "http://n:7/disco/x")
        seen = []
        thread = threading.Thread(target=lambda: seen.append(context.current_task()))
        thread.start()
        thread.join()
        assert seen == [None]  # a new thread starts with an empty context
    finally:
        context.reset_task(token)
    assert disco.worker.active_task is None and classic.Task is None
