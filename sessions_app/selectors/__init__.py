"""The read layer (HackSoft's selectors): every query the pages and the API run, one module per
area. Views, API operations, forms and template tags call these and run no query themselves;
writes live in `services/`, which may read the rows they lock or update.

- `sessions`: one session and its tree; `session_list`: the lists (pages and API)
- `events`: transcripts, events and items pages, runs; `search`: full-text search
- `costs`: usage rollups and analytics; `whatif`: re-pricing without writing
- `budgets`, `prices`, `summaries`, `projects` (members, API keys, users)
- `pagination`: the one keyset paginator

Import the module you need (`from sessions_app.selectors import sessions`): this package
imports none of them, so low-level modules (the price book) may use one without a cycle.
"""
