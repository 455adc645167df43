"""The classic map/reduce worker of Disco (``disco.worker.classic.worker.Worker``) and its
helper functions (``disco.worker.classic.func``)."""
