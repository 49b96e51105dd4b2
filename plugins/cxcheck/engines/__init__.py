"""`cxcheck config` (config.py) and its writers, one module per monitoring engine (nagios,
icinga2, centreon): each turns the options of a working command, read by the plugin's own parser
(options.py), into a service that runs the plugin with those options exactly. words.py says how
an argv travels through the Nagios family's $ARG1$; icinga2_commands.py writes Icinga 2's
CheckCommands from the parsers. What they share (the host, secrets, a journey's environment) is
in common."""
