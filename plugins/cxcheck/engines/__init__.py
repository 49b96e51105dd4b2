"""Writers of `cxcheck config`: one module per monitoring engine (nagios, icinga2, centreon), each
turning the options of a working command into a service of that engine's shipped templates.
What they share (which secret is which, the journey's variables, default names) is in common."""
