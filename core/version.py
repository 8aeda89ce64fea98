"""The code version recorded with every computed result, so figures can be reproduced."""

import os

VERSION = "0.1.0"
# Deployments set GIT_SHA so the audit trail names the exact build.
CODE_VERSION = f"vigil-{VERSION}" + (f"+{os.environ['GIT_SHA'][:12]}" if os.environ.get("GIT_SHA") else "")
