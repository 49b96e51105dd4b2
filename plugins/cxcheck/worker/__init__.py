"""`cxcheck worker`: cxcheck's plugins run for a Nagios 4 core through its query handler socket.

- protocol: the wire format (registration, jobs, results, log lines) and the core's command
  splitting rules; pure;
- registry: which plugins, under which routing keys, and the one import of what they use;
- child: one check in one forked child, its output through pipes, its exit code;
- dispatch: jobs to children and results back, bounded, every job answered by its deadline;
- core: the connections to the core, one per routing key, reconnected with backoff;
- loop: the single-threaded event loop and the log;
- cli: the subcommand's options and start.
"""
