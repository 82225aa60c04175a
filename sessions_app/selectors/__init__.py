"""The read layer (HackSoft's selectors): every query the pages and the API run, one module per
area. Views, API operations, forms and template tags call these and run no query themselves;
writes live in `services/`, which may read the rows they lock or update.

- `sessions`: one session and its tree; `session_list`: the lists (pages and API); `bulk`:
  the sessions a bulk action applies to
- `events`: transcript pages, one event's payload, events and items pages, runs;
  `transcript`: moving through a transcript (the page before an event, errors, search hits,
  a session or event found by its own id); `payloads`: large JSON values loaded on demand;
  `branches`: a session's branches and their events; `search`: full-text search
- `prompt_events`: the few events a prompt strategy needs; `otel`: what the OTLP receiver has
  stored already, and the session page's turn timeline; `exports`: each event's text for the
  exports, written by PostgreSQL
- `costs`: usage rollups and analytics; `whatif`: re-pricing without writing; `budgets`,
  `prices`, `summaries`
- `review`: comments, scores, score configs, review history, the list's review columns;
  `queues`: annotation queues; `sharing`: saved views and share links
- `projects`: projects, members, API keys, retention runs, users
- `pagination`: the one keyset paginator

Import the module you need (`from sessions_app.selectors import sessions`): this package
imports none of them, so low-level modules (the price book) may use one without a cycle.
"""
