"""EdgeFlow Studio machine-learning package (pure PyTorch/NumPy/OpenCV; never imports Django).

Importing ``ml`` defaults ``OMP_WAIT_POLICY`` to ``PASSIVE`` (an explicit environment value wins). On the
project's shared 2-core machine under load (~5 runnable processes), OpenMP's default active spin-waiting
made a 400×400 HRNet18-OCR64 forward with 2 threads take a median of 15 s instead of 0.65 s: spinning
threads starve each other and every parallel region waits for a descheduled one. It only takes effect
if torch (libgomp) has not been loaded yet, so import ``ml`` before ``torch`` in entry points, or set the
variable in the service environment.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
