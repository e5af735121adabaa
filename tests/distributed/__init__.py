"""Tests of the distributed mode (Ray); skipped when Ray is not installed.

Every Ray process these tests start stays on the loopback interface: Ray otherwise
advertises the machine's network address, and the test machines allow local
traffic on loopback only. Ray reads this setting when it is first imported.
"""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
