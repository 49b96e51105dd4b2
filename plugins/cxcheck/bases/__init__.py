"""What several plugins build on, never a plugin itself:

- samples: judging a sample in the order its numbers are trusted (rows readable, enough of them,
  then its ranges, with --significant by the whole confidence interval);
- survey, survey_verdicts: the survey plugins' resource, options, contexts and summary;
- rates, rate_verdicts: the rate plugins' (conversion, churn);
- journey_checks: what the journey plugins (login, checkout, transaction) share.
"""
