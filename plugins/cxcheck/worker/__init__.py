"""`cxcheck worker`: cxcheck's plugins run for a Nagios 4 core through its query handler socket.

- protocol: the wire format (registration, jobs, results, log lines) and the core's command
  splitting rules; pure;
- registry: which plugins, under which routing keys, and the one import of what they use;
- runner: warm children that run check after check (the default), and their pool;
- isolation: what a check changes in the process that ran it, put back before the next;
- child: one check in one forked child (--jobs-per-child 1, and commands with shell syntax);
- dispatch: jobs to children and back, bounded, every job answered by its deadline or handed on;
- core: the connections to the core, one per routing key, reconnected with backoff;
- handover: the connections and unanswered jobs kept across a restart in systemd's fd store;
- loop: the single-threaded event loop, and how a stop loses no check;
- log: its lines, on stderr and in the core's log;
- cli: the subcommand's options and start.
"""
