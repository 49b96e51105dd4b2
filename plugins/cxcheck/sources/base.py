"""What a data source is: the contract between the systems cxcheck reads and the checks.

A source is one class in one module of this package, listed by its import path in registry.py
under the kinds of data it provides. The class says who it is without any I/O (its module imports
no network library at top level, so a plugin's parser and --help cost nothing):

- `name`                the system, as messages say it ("Zendesk");
- `option`, `metavar`   the option that selects it (`--zendesk SUBDOMAIN`; metavar None: a flag);
- `help`                that option's help;
- `add_arguments(opts)` its own further options, declared through `Options` (shared by several
                        sources: declared once, first help wins);
- `uses_api`            True: it takes the shared API options (--token-env/--token-file, with
                        --bearer-env/--bearer-file as aliases; --api-url unless `endpoint`);
- `survey_kinds`        the survey kinds it holds, when not any ("CSAT": good/bad ratings make no
                        NPS): a plugin of another kind does not offer it;
- `value_form`          (pattern, what the value is): its option's value checked before anything
                        ("--zendesk 'a b': the account's subdomain, ...");
- `needs`, `needs_why`  the options that must come with it, and why ("--surveymonkey needs
                        --question-id (the survey question)").

Built with `cls(value, run)` once the arguments are parsed: it validates its options
(ConfigError; the declared checks first) and reads nothing yet. Then the check calls the reader
of its kind, which yields items and raises only SourceError (the plugin entry, not the source,
makes that UNKNOWN).
Unreadable rows are counted in `rejects` by reason, never dropped silently. The kinds:

- responses: `read_responses(scale, since, until, rejects)` yields (unix time, score on `scale`),
  or (time, UNANSWERED) for a survey offered and not answered when `reports_unanswered`;
- tickets: `read_tickets(measure, hours, by, since, until, rejects)` yields (created, solved,
  seconds): the ticket's times (solved None while unsolved) and its first reply or resolution
  time (`measure` "first-reply" or "resolution") in `hours` "calendar" or "business" (only
  when `business_hours`), None while not reached; tickets created (`by` "created") or solved
  ("solved") from `since` to `until` at least, more is filtered by the check.
  `read_backlog(before, rejects)` gives (count, oldest creation or None, rows examined or None
  when the help desk counted) of the tickets still unsolved that were created before `before`.
- funnel: `read_funnel(since, until)` gives a funnels.Funnel, the steps of (since, until] with
  how many customers reached each; called once per window (a source that cannot give an earlier
  window sets `can_compare` False and says why in `why_not_compare`);
- churn: `read_churn(windows, rejects)` gives a churn.Churn per window (who could be lost, who
  was, the value and reasons), all windows in one pass; `rows` then says how many rows it used.
- transactions: `read_transactions(window, quiet_below)` gives a transactions.Measure (successes
  and total, or a ratio) of the window (a duration as written, or None: the queries have no
  ${window}); `templates` are the texts that may carry ${window}, `counts_total` whether the
  total is known; a query without data while the total is under `quiet_below` is no transaction.
- reviews: `read_reviews(since, until, rejects)` yields sources.reviews.Review (time, 1-5 stars,
  version, text) of (since, until] at least; the class is a reviews.ReviewSource, which says how
  far back the store's reviews are whole (`covered_since`) and may give the store's `overall()`.
- payments: `read_payments(windows, rejects)` gives a payments.Payments per window (attempts
  succeeded, failed, pending; decline reasons; refunded since; disputes, None when not read), all
  windows in one pass; `rows` then says how many payments it used.
- subscriptions: `read_subscriptions(rejects)` gives revenue.Subscription objects, all of them
  (MRR at two times, churn and new MRR are computed from them); `rows` as above;
  `account_currency()` is asked when they are in several currencies and --currency is not given.
"""

from __future__ import annotations

from cxcheck.runtime import ConfigError, Run, SourceError, input_name, masker, read_secret, read_token

__all__ = ["ApiSource", "ConfigError", "Options", "Source", "SourceError"]


class Options:
    """An argparse group where several sources may declare the same option: the first wins."""

    def __init__(self, group):
        self.group = group
        self.declared: set[str] = set()

    def add(self, *flags: str, **kwargs):
        if flags[0] in self.declared:
            return
        self.declared.update(flags)
        self.group.add_argument(*flags, **kwargs)


class Source:
    name = ""
    option = ""
    metavar: str | None = None
    help = ""
    uses_api = False
    survey_kinds = None             # responses: the survey kinds it holds ("NPS", "CSAT"); None: any
    reports_unanswered = False      # responses: also yields surveys offered and not answered
    business_hours = False          # tickets: gives times in business hours too
    has_comments = False            # responses: can hand each answer's free text to `comments`
    comments = None                 # set by a check that wants them: called (time, text) while reading
    value_form = None               # (compiled pattern, what the value is) of its option's value
    needs: tuple = ()               # options that must come with it ("--question-id", "--histogram METRIC")
    needs_why = ""                  # what they are, said after them

    @classmethod
    def add_arguments(cls, options: Options) -> None:
        """Options of this source beyond the one that selects it."""

    def __init__(self, value, run: Run):
        self.value, self.run, self.args = value, run, run.args
        if self.value_form and not self.value_form[0].match(str(value)):
            raise ConfigError(f"{self.option} {value!r}: {self.value_form[1]}")
        if any(not getattr(self.args, need.split()[0][2:].replace("-", "_"), None) for need in self.needs):
            why = f" ({self.needs_why})" if self.needs_why else ""
            raise ConfigError(f"{self.option} needs {' and '.join(self.needs)}{why}")

    @classmethod
    def dest(cls) -> str:
        return cls.option.lstrip("-").replace("-", "_")

    def reading(self, what: str) -> None:
        """Say what the run is doing, for the timeout message ('timed out ... while reading X')."""
        self.run.activity = f"reading {what}"

    def reading_input(self) -> None:
        """reading() of the file the source's option names (`-`: standard input)."""
        self.reading(input_name(self.value))


class ApiSource(Source):
    """A source behind an HTTP API: a token from --token-env/--token-file (--bearer-env and
    --bearer-file are the same options), one ApiClient (token pinned to its host, 429 and
    Retry-After inside the deadline, bounded paging). A vendor's API has a base URL that
    --api-url may replace; an `endpoint` source's option value is the URL itself (a Prometheus
    server, a JSON endpoint). Subclasses set `default_api` and say how the token is sent (Bearer
    unless `auth()` says otherwise)."""

    uses_api = True
    endpoint = False                # the option's value is the URL: no --api-url
    default_api = ""
    token_required = True
    token_name = "API token"        # as messages name it
    key_file = False                # the credential is a key file of several lines (a .p8, a JSON key)
    headers: dict = {}              # sent with every request, beside the token
    max_requests = 1000             # a bound on paging, whatever the API answers
    max_body: int | None = None     # of an answer, bytes (None: the HTTP layer's default)
    max_redirects: int | None = None
    rate_limit = ""                 # the service's documented limit, said when it answers 429

    def __init__(self, value, run: Run):
        super().__init__(value, run)
        args = self.args
        self.token_origin = f"${args.token_env}" if args.token_env else args.token_file
        read = read_secret if self.key_file else read_token
        self.token = read(env=args.token_env, path=args.token_file, what=self.token_name)
        if self.token is None and self.token_required:
            raise ConfigError(f"{self.name} needs a token: --token-env VAR or --token-file PATH")
        if self.endpoint:
            if not str(value).startswith(("http://", "https://")):
                raise ConfigError(f"{self.option} {value!r}: an http:// or https:// URL")
            self.base_url = value
        else:
            self.base_url = args.api_url or self.default_api
        self._client = None

    def auth(self) -> dict:
        """requests' keyword arguments that carry the token: headers or auth. Bearer by default,
        the one place that header is built."""
        return {"headers": {"Authorization": f"Bearer {self.token}"}} if self.token else {}

    @staticmethod
    def basic_auth(user: str, password: str) -> dict:
        """HTTP Basic credentials, their encoded form masked like the secret (a 401 page that
        echoes the Authorization header, a debug log) wherever it would be written."""
        import base64

        masker.register(base64.b64encode(f"{user}:{password}".encode()).decode())
        return {"auth": (user, password)}

    @property
    def credential(self) -> str:
        """The credential as an error names it: which token, from where (never its value)."""
        return "the token"

    def on_request(self, what: str) -> None:
        """Each request says what the run is doing (for the timeout message)."""
        self.reading(f"{self.name} {what}")

    @property
    def client(self):
        if self._client is None:
            from cxcheck.sources.apiclient import ApiClient  # the HTTP stack, only once it is used

            auth = self.auth()
            headers = {**self.headers, **auth.pop("headers", {})}
            limits = {name: value for name, value in (("max_body", self.max_body),
                                                      ("max_redirects", self.max_redirects)) if value}
            self._client = ApiClient(self.name, self.base_url, self.run.http_options(), self.run.deadline,
                                     headers=headers, on_request=self.on_request, credential=self.credential,
                                     max_requests=self.max_requests, rate_limit=self.rate_limit, **limits, **auth)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
