"""The test state's public functions, from the backend AUTHFLIGHT_STATE selects (settings.py).

* "memory" (state_memory.py): one process, many threads, one lock. The dev server
  (`manage.py serve`) uses it: per-request writes to SQLite from many threads would wait on
  SQLite's single write lock.
* "db" (state_db.py): tables in PostgreSQL, shared by every gunicorn worker (the production stack).

Both offer the same functions with the same meaning; views.py, auth.py and tokens.py use only these.
"""

from django.conf import settings

if settings.AUTHFLIGHT_STATE == "db":
    from .state_db import *  # noqa: F401,F403
    from .state_db import __all__
else:
    from .state_memory import *  # noqa: F401,F403
    from .state_memory import __all__
