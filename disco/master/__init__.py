"""The Disco master: job submission, scheduling, the Worker Protocol host and the HTTP API.

One asyncio process (``python -m disco.master``). Settings come from the environment
(:class:`disco.settings.DiscoSettings`); ``DISCO_RETRY_BASE`` (seconds, default 1) scales the
retry back-off of failed tasks (tests use 0.01). Modules, one concern each:

==================  ===============================================================================
``server``          run the aiohttp application until SIGTERM/SIGINT; print the listening line
``routes``          the route table of docs/http-api.md#disco and its thin handlers
``auth``            who may ask: Host and Origin checks, the optional DISCO_AUTH_TOKEN (middleware)
``webui``           the web pages of docs/http-api.md#web-pages (static files in ``www/``, served at ``/``)
``master``          the composition root: settings, registry, events, cluster, scheduler, jobs
``jobs``            job submission, kill/clean/purge, results (long poll), jobinfo, joblist
``cluster``         config table, blacklists, runtime settings, node statistics (nodeinfo)
``jobspec``         validation of a submitted job pack; v1 jobdict -> pipeline translation
``coordinator``     one job: input stage, the chain of stages, task retries, results
``stages``          one stage: tasks from the previous stage's outputs (plain or concurrent)
``grouping``        the five groupings of docs/jobs.md#groupings (all outputs at once, or one at a time)
``outputs``         task outputs (data and dir/index outputs) and the inputs built from them
``jobinputs``       the job's inputs as outputs of the virtual ``input`` stage (reads index files)
``scheduler``       node slots, max_cores, blacklist, fair/fifo policies, first-run pinning
``workerhost``      the Worker Protocol 1.1 host for one task attempt
``taskinputs``      INPUT / INPUT_ERR bookkeeping of one task
``model``           the job and task records shared by coordinator, scheduler and worker host
``jsontypes``       type checks for decoded JSON values
``jobhome``         unpacking a job home on a node
``backends``        the node backend interface and the ``local`` backend
``dask_backend``    nodes on Dask distributed: the `dask` backend (docs/cluster.md)
``pgroups``         the journal of running workers' process groups (killed after a crash)
``warmworkers``     forking Python workers from a node's warm process (``disco.worker.forkserver``)
``registry``        SQLite persistence (jobs, tasks, stage results, settings)
``config``          the cluster config file (docs/settings.md#cluster-config): host ranges, blacklists
``events``          per-job JSON-lines event logs
``datafiles``       safe resolution of ``/disco/<path>`` requests under DISCO_DATA
``names``           job names, HH directory hashes, time formats
``ddfs``            DDFS: the ``/ddfs/`` API, tags, blobs, GC, saved results (a package)
``embedded``        ``start_master``: a master subprocess for tests and the quick start
``daemon``          ``disco start|stop|status|restart|nodaemon`` support (pid file, log file)
==================  ===============================================================================
"""
