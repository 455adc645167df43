"""The pipeline worker of Disco (``disco.worker.pipeline.worker``): jobs as a list of
``(grouping, Stage)`` pairs, submitted as job pack version 2."""
